"""The hosted server's machinery, apart from the core: fair turns between visitors
(turns.py), runs in training now (reservations.py), the scheduler that the app hands to
``mlp_core.runs.get_or_train`` (schedule.py), and the warm-up of the pages' first answers
(warm.py). Pure Python over the core; no Streamlit. The CLI and the core's own tests never
import it (ARCHITECTURE.md "Sharing one server")."""
