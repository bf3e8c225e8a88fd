"""hosting/sessions.py: a session's run list kept under its private id."""

import json
import os
import time

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


def _aged(root, n: int, start: float) -> list:
    """n saved sessions, each last used a minute after the one before, from start."""
    sids = [sessions.new_id() for _ in range(n)]
    folder = root / sessions.FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for i, sid in enumerate(sids):  # written as save writes them, none swept yet
        sessions.path(root, sid).write_text(json.dumps([entry(f"k{i}")]))
        os.utime(sessions.path(root, sid), (start + 60 * i, start + 60 * i))
    return sids


def test_the_sessions_folder_keeps_the_most_recently_used_files(tmp_path, monkeypatch):
    monkeypatch.setattr(sessions, "MAX_FILES", 5)
    old = [sessions.path(tmp_path, s) for s in _aged(tmp_path, 6, time.time() - 3600)]
    newest = sessions.new_id()
    assert sessions.save(tmp_path, newest, [entry("n")], limit=3)  # a new file: a sweep
    left = set((tmp_path / sessions.FOLDER).iterdir())
    assert left == set(old[2:]) | {sessions.path(tmp_path, newest)}  # the 2 oldest went
    sessions.load(tmp_path, sessions.new_id())  # an unknown id: nothing made, nothing gone
    assert len(list((tmp_path / sessions.FOLDER).iterdir())) == 5


def test_a_read_keeps_a_session_and_a_month_unused_removes_it(tmp_path):
    month_ago = time.time() - sessions.MAX_AGE_S - 60
    back, away = _aged(tmp_path, 2, month_ago)
    assert [e["key"] for e in sessions.load(tmp_path, back)] == ["k0"]  # a visitor came back
    kept, gone = sessions.path(tmp_path, back), sessions.path(tmp_path, away)
    stale_tmp = tmp_path / sessions.FOLDER / "x.123.tmp"
    stale_tmp.write_text("[]")
    os.utime(stale_tmp, (month_ago, month_ago))
    assert sessions.save(tmp_path, sessions.new_id(), [entry("n")], limit=3)
    left = set((tmp_path / sessions.FOLDER).iterdir())
    assert kept in left and gone not in left and stale_tmp not in left


def test_a_load_marks_the_file_used(tmp_path):
    sid = sessions.new_id()
    sessions.save(tmp_path, sid, [entry("a")], limit=3)
    p = sessions.path(tmp_path, sid)
    os.utime(p, (1_000_000, 1_000_000))
    assert [e["key"] for e in sessions.load(tmp_path, sid)] == ["a"]
    assert p.stat().st_mtime > time.time() - 60


def test_what_the_sweep_cannot_remove_never_fails_a_write(tmp_path, monkeypatch):
    monkeypatch.setattr(sessions, "MAX_FILES", 1)
    folder = tmp_path / sessions.FOLDER
    (folder / "stuck.json").mkdir(parents=True)  # not a file: unlink refuses it
    os.utime(folder / "stuck.json", (1_000_000, 1_000_000))
    _aged(tmp_path, 2, time.time() - 3600)
    real_unlink = os.unlink

    def flaky(p, *a, **k):  # another process removed it first
        real_unlink(p, *a, **k)
        raise FileNotFoundError(p)

    monkeypatch.setattr(sessions.os, "unlink", flaky)
    sid = sessions.new_id()
    assert sessions.save(tmp_path, sid, [entry("n")], limit=3)
    assert [e["key"] for e in sessions.load(tmp_path, sid)] == ["n"]
    assert {p.name for p in folder.iterdir()} == {"stuck.json", sessions.path(tmp_path, sid).name}
