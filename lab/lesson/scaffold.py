"""`shikumi new ID`: a small working lesson to start from (it passes `shikumi check`).

Its commands are harmless: they write one file under {{work}}.
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.errors import LabError
from lab.lesson.i18n import step_hash
from lab.lesson.loader import LESSON_FILE, load_lesson, translation_file

ID_RE = re.compile(r"\d{2,3}-[a-z0-9]+(?:-[a-z0-9]+)*")
DEFAULT_VIEW = ("tree", 'path = "{{work}}"\ndepth = 1')

ENGLISH = """\
+++
title = "{title}"
summary = "One line: what the learner sees and does."
part = "Extras"
requires = []
+++
A few sentences on what this lesson shows and why it matters.

## Write a file {{#write}}
Every step runs real commands, shown before they run. This one writes a file
into the lesson's work folder, then looks at it.

```run
echo "hello from {id}" > {{{{work}}}}/hello.txt
cat {{{{work}}}}/hello.txt
```

```view {view}
{view_params}
```

```check file-contains
path = "{{{{work}}}}/hello.txt"
pattern = "hello"
says = "the greeting"
says_ja = "あいさつ"
message = "the file holds the greeting"
```

## Your turn {{#your-turn}}
Now you change the file yourself.

```try
Add a second line to hello.txt in the work folder, with echo.
```

```hint
`>>` appends to a file; `>` would replace what is there.
```

```solution
echo "a line of my own" >> {{{{work}}}}/hello.txt
```

```check file-contains
path = "{{{{work}}}}/hello.txt"
pattern = '\\n\\S'
says = "a second line"
says_ja = "2 行目"
message = "the file has a second line"
```
"""

JAPANESE = """\
+++
title = "{title}（日本語）"
summary = "一行で: 学習者が見ること、やること。"
+++
このレッスンで何を示すのか、なぜ大切なのかを数文で書きます。

## ファイルを書く {{#write src={h1}}}
どのステップも本物のコマンドを実行し、実行前に表示します。ここではレッスンの
作業フォルダーにファイルを書き、その中身を見ます。

## やってみよう {{#your-turn src={h2}}}
今度は自分でファイルを変えてみましょう。

```try
作業フォルダーの hello.txt に、echo で二行目を追加してください。
```

```hint
`>>` はファイルに追記します。`>` だと中身が置き換わります。
```
"""


def _title(lesson_id: str) -> str:
    words = lesson_id.split("-", 1)[-1].replace("-", " ")
    return words[:1].upper() + words[1:]


def _view() -> tuple[str, str]:
    """A view to show in the template: `tree` if the registry has it, else the first one."""
    try:
        import lab.views as views

        names = sorted(views.names())
    except Exception:
        return DEFAULT_VIEW
    if not names or DEFAULT_VIEW[0] in names:
        return DEFAULT_VIEW
    return names[0], ""


def new_lesson(lesson_id: str, directory: Path) -> Path:
    """Create DIRECTORY/ID with lesson.md and lesson.ja.md; return the folder."""
    if not ID_RE.fullmatch(lesson_id):
        raise LabError(
            f"invalid lesson id {lesson_id!r}",
            "use a number, a dash and lowercase words, like 19-my-lesson",
        )
    folder = Path(directory) / lesson_id
    if folder.exists():
        raise LabError(f"{folder} already exists", "choose another id, or remove that folder first")
    view, view_params = _view()
    english = ENGLISH.format(
        id=lesson_id, title=_title(lesson_id), view=view, view_params=view_params
    )
    try:
        folder.mkdir(parents=True)
        (folder / LESSON_FILE).write_text(english, encoding="utf-8")
        lesson, _ = load_lesson(folder)
        assert lesson is not None
        hashes = [step_hash(s) for s in lesson.steps]
        japanese = JAPANESE.format(title=_title(lesson_id), h1=hashes[0], h2=hashes[1])
        translation_file(folder, "ja").write_text(japanese, encoding="utf-8")
    except OSError as e:
        raise LabError(f"cannot create {folder}: {e.strerror or e}") from None
    return folder
