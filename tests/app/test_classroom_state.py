"""The Classroom page's score without a browser."""

from __future__ import annotations

from aiart.app.classroom.state import Score


def test_score_counts_right_answers_only_where_the_answer_is_known():
    score = Score()
    score.add("AI_GENERATED", "AI_GENERATED", "AI_GENERATED")  # both right
    score.add("AI_GENERATED", "NON_AI_GENERATED", "NON_AI_GENERATED")  # model right
    score.add("NON_AI_GENERATED", "NON_AI_GENERATED", None)  # a drawn picture: agreement only
    assert (score.rounds, score.known, score.agreed) == (3, 2, 2)
    assert (score.class_right, score.model_right) == (1, 2)
