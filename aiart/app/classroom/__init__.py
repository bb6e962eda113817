"""The Classroom page and the live class vote: projector rounds, host controls, the phones' vote page."""
