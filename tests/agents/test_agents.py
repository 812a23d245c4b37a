"""The agent catalog: built-ins, repository overrides, and refusals."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kaizen_agentic.agents import (
    builtin_names,
    list_definitions,
    load_definition,
    parse_definition,
)
from kaizen_agentic.errors import InvalidFileError, KaizenError


def test_builtins_are_real_prompts() -> None:
    assert builtin_names() == ["coach", "optimization-review"]
    for name in builtin_names():
        agent = load_definition(name)
        assert agent.source == "builtin"
        assert agent.version >= 1
        assert len(agent.prompt) > 2000
        assert "```kaizen-result" in agent.prompt  # they say what to return, in our format
        assert agent.digest.startswith("sha256:")


def test_a_repository_adds_and_overrides_agents(tmp_path: Path) -> None:
    folder = tmp_path / ".kaizen" / "agents"
    folder.mkdir(parents=True)
    (folder / "coach.md").write_text(
        "---\nname: coach\nversion: 2\ndescription: our coach\nreturns: notes\n---\nBe kind.\n"
    )
    (folder / "digest.md").write_text(
        "---\nname: digest\nversion: 1\ndescription: deps\nreads: [repository]\n"
        "returns: a list\n---\nList dependencies.\n"
    )
    agents = {a.name: a for a in list_definitions(str(tmp_path))}
    assert sorted(agents) == ["coach", "digest", "optimization-review"]
    assert agents["coach"].source == str(folder / "coach.md")
    assert agents["coach"].prompt == "Be kind.\n"
    assert agents["digest"].reads == ("repository",)
    assert agents["optimization-review"].source == "builtin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "no front matter\n",
            ['a.md:1:1: expected YAML front matter: a first line "---", the fields, then "---"'],
        ),
        ("---\nname: a\n", ['a.md:1:1: front matter is not closed by a line "---"']),
        (
            "---\nname: a\nversion: one\ndescription: d\nreturns: r\n---\nx\n",
            ['a.md:3:10: version: expected an integer from 1 to 1000000, got string "one"'],
        ),
        (
            "---\nname: a\nversion: 1\ndescription: d\nreturns: r\ncolour: red\n---\nx\n",
            ['a.md:6:1: unknown key "colour"'],
        ),
        (
            "---\nname: a\nversion: 1\ndescription: d\nreturns: r\nreads: [memroy]\n---\nx\n",
            [
                "a.md:6:9: reads[0]: expected one of repository, memory, metrics, focus, "
                'instructions, got string "memroy"; did you mean "memory"?'
            ],
        ),
        (
            "---\nname: a\nversion: 1\ndescription: d\nreturns: r\n---\n\n",
            ["a.md:7:1: the prompt body is empty"],
        ),
        (
            "---\nversion: 1\n---\nx\n",
            [
                'a.md:2:1: missing required key "name"',
                'a.md:2:1: missing required key "description"',
                'a.md:2:1: missing required key "returns"',
            ],
        ),
    ],
)
def test_invalid_definitions_are_located(text: str, expected: list[str]) -> None:
    with pytest.raises(InvalidFileError) as info:
        parse_definition(text.encode(), "a.md", "a.md")
    assert [str(p) for p in info.value.problems] == expected


def test_the_file_name_and_the_front_matter_name_must_agree(tmp_path: Path) -> None:
    folder = tmp_path / ".kaizen" / "agents"
    folder.mkdir(parents=True)
    (folder / "coach.md").write_text(
        "---\nname: other\nversion: 1\ndescription: d\nreturns: r\n---\nx\n"
    )
    with pytest.raises(InvalidFileError) as info:
        load_definition("coach", str(tmp_path))
    assert [p.message for p in info.value.problems] == [
        'front matter says name "other" but the file is named "coach.md"'
    ]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a\0b", "a\nb", "Coach", ""])
def test_names_that_could_escape_are_refused(name: str) -> None:
    with pytest.raises(KaizenError, match="is not an agent name"):
        load_definition(name, "/")


def test_an_override_that_links_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("---\nname: coach\nversion: 1\ndescription: d\nreturns: r\n---\nx\n")
    repo = tmp_path / "repo"
    (repo / ".kaizen" / "agents").mkdir(parents=True)
    os.symlink(outside, repo / ".kaizen" / "agents" / "coach.md")
    with pytest.raises(KaizenError, match="points outside the repository"):
        load_definition("coach", str(repo))


def test_an_override_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".kaizen" / "agents").mkdir(parents=True)
    os.mkfifo(tmp_path / ".kaizen" / "agents" / "coach.md")
    with pytest.raises(KaizenError, match=r"coach\.md: not a regular file"):
        load_definition("coach", str(tmp_path))


def test_an_unknown_agent(tmp_path: Path) -> None:
    with pytest.raises(KaizenError) as info:
        load_definition("nobody", str(tmp_path))
    assert str(info.value) == (
        'no agent "nobody": it is not built in and .kaizen/agents/nobody.md does not exist'
    )


def test_cli_list_and_show(
    capsys: pytest.CaptureFixture[str], make_repo: Callable[..., Path]
) -> None:
    from kaizen_agentic.main import main

    repo = make_repo()
    assert main(["agents", "list", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["AGENT", "VERSION", "SOURCE", "DESCRIPTION"]
    assert "coach                1        built in" in out
    assert main(["agents", "show", "coach"]) == 0
    assert capsys.readouterr().out.startswith("# coach (version 1, built in)\n")
    assert main(["agents", "show", "nobody", "--repo", str(repo)]) == 1
    assert capsys.readouterr().err == (
        'kaizen-agentic: error: no agent "nobody": it is not built in and '
        ".kaizen/agents/nobody.md does not exist\n"
    )
