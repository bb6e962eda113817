"""Vote: a student's phone in a live class vote (reached from the link or QR code on the projector)."""

from aiart.app.classroom.vote import page

page()
