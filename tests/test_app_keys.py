"""Pilot tests of the lesson screen's keys from issue 15, with the real runner on the
harmless demo lesson: the text folds after r (e unfolds it where the learner was), p
shows a step's earlier results, z zooms, and r after a jump offers the earlier steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import (
    answer_deps,
    make_app,
    open_demo,
    run_and_wait,
    status_text,
    transcript_text,
    wait_for,
)
from test_app_helpers import write_lessons

from lab.tui.screens.confirm import ConfirmScreen

SMALL = (80, 24)


@pytest.fixture
def lab_dirs(tmp_path: Path) -> tuple[Path, Path]:
    lessons = write_lessons(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    return lessons, home


async def test_run_folds_the_text_and_p_shows_earlier_results(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_demo(pilot)
        text = screen.explanation
        assert not text.folded and text.max_scroll_y > 0  # the lesson intro + step 1
        text.focus()
        await pilot.press("pagedown")
        await pilot.pause(0.1)
        where = text.scroll_y
        assert where > 0
        await run_and_wait(pilot, screen)
        await pilot.pause(0.1)
        # the text folds to the step's title and commands: the results get the room
        assert text.folded and screen.bench.region.height > text.region.height
        assert "echo hello > greeting.txt" in str(text.query_one("#explain-fold").render())
        await pilot.press("e")  # the whole text again, where the learner was
        await pilot.pause(0.2)
        assert not text.folded and text.scroll_y == where
        await pilot.press("l")  # the same text in Japanese: the learner stays there
        await pilot.pause(0.3)
        assert 0 < text.scroll_y == min(where, text.max_scroll_y)
        await pilot.press("l")
        await pilot.pause(0.3)
        await pilot.press("n")
        await pilot.pause(0.1)
        assert screen.index == 1 and not text.folded
        assert "Press r" in transcript_text(app)
        await pilot.press("p")  # back: what step 1 showed, not "press r"
        await pilot.pause(0.2)
        assert screen.index == 0 and text.folded
        assert "made greeting.txt" in transcript_text(app)
        assert "Press r" not in transcript_text(app)
        assert "greeting.txt exists" in screen.bench.checks_shown


async def test_z_zooms_the_focused_panel_and_esc_comes_back(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_demo(pilot)
        await run_and_wait(pilot, screen)
        await pilot.pause(0.1)
        point = screen.bench.point()
        assert screen.explanation.folded  # the folded text is no panel to zoom: the result is
        await pilot.press("z")
        await pilot.pause(0.1)
        assert screen.maximized is point and point.region.height >= 20
        await pilot.press("z")
        await pilot.pause(0.1)
        assert screen.maximized is None
        await pilot.press("e")  # the whole text, focused: z zooms it
        screen.explanation.focus()
        await pilot.press("z")
        await pilot.pause(0.1)
        assert screen.maximized is screen.explanation
        await pilot.press("escape")  # out of the zoom, not out of the lesson
        await pilot.pause(0.1)
        assert screen.maximized is None and app.screen is screen


async def test_r_after_a_jump_offers_the_earlier_steps(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_demo(pilot)
        await pilot.press("2", "r")  # step 2 builds on step 1, which has not run here
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one(".dialog-title").render())
        assert "has not run step 1 yet, and step 2 builds on" in question, question
        await pilot.press("escape")  # neither: nothing runs
        await pilot.pause(0.1)
        assert app.screen is screen and screen.running is None and screen.results == {}
        await pilot.press("r")
        await answer_deps(pilot, only=False)  # y: run step 1 first, then step 2
        await wait_for(pilot, lambda: screen.running is None and not screen.chain)
        await pilot.pause(0.1)
        assert screen.statuses.get("make-file") == "passed"
        assert screen.index == 1 and 1 in screen.results  # step 2 ran after it
        assert "your turn" in status_text(app)  # its check waits for the learner


def test_try_text_paragraphs_join_prose_but_keep_code_and_lists():
    from lab.tui.widgets.explain import paragraphs

    text = "Mount it at `/srv`\n(its pid is 7):\n\n    mkdir -p x\n    mount --bind a x\n\n- one\n- two"
    assert paragraphs(text) == (
        "Mount it at `/srv` (its pid is 7):\n\n    mkdir -p x\n    mount --bind a x\n\n- one\n- two"
    )
    assert paragraphs("コンテナの中で\nマウントする") == "コンテナの中でマウントする"
