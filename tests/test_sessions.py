"""hosting/sessions.py: a session's run list kept under its private id."""

from hosting import sessions


def entry(key: str) -> dict:
    return {"key": key, "config": {}, "label": key}


def test_a_saved_list_loads_back_under_its_id_only(tmp_path):
    sid = sessions.new_id()
    assert sessions.valid(sid)
    assert sessions.save(tmp_path, sid, [entry("a"), entry("b")], limit=40)
    assert [e["key"] for e in sessions.load(tmp_path, sid)] == ["a", "b"]
    assert sessions.load(tmp_path, sessions.new_id()) == []
    assert sid not in str(sessions.path(tmp_path, sid))  # the file names a hash, not the id


def test_two_tabs_merge_newest_last_within_the_limit(tmp_path):
    sid = sessions.new_id()
    sessions.save(tmp_path, sid, [entry("a"), entry("b")], limit=3)
    sessions.save(tmp_path, sid, [entry("c"), entry("a"), entry("d")], limit=3)
    assert [e["key"] for e in sessions.load(tmp_path, sid)] == ["c", "a", "d"]


def test_junk_ids_and_files_are_ignored(tmp_path):
    for junk in ("", None, "../../etc/passwd", "short", "x" * 65):
        assert not sessions.valid(junk)
        assert not sessions.save(tmp_path, junk, [entry("a")], limit=3)
        assert sessions.load(tmp_path, junk) == []
    sid = sessions.new_id()
    sessions.path(tmp_path, sid).parent.mkdir(parents=True)
    sessions.path(tmp_path, sid).write_text("{not json")
    assert sessions.load(tmp_path, sid) == []
