"""Policy files: the good shape loads; every bad one is one clear AuditorError line."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import AuditorError
from auditor.model import PolicyEntry
from auditor.policy import load_policy

A = "AC" + "a" * 32
B = "AC" + "b" * 32


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_accounts_names_and_caller_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
[accounts.{A}]
name = "Clinic A"
caller_ids = ["+15551110001", " +1 (555) 111-0002 ", "+15551110001"]

[accounts.{B}]
caller_ids = ["+442071838750"]
""",
    )
    assert load_policy(path) == [
        PolicyEntry(A, "+15551110001", "Clinic A"),
        PolicyEntry(A, "+15551110002", "Clinic A"),
        PolicyEntry(B, "+442071838750", None),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[accounts.AC1\n", "not valid TOML"),
        ("title = 'x'\n", "unknown top-level key 'title'"),
        ("", "no [accounts.AC…] table"),
        ("[accounts.ACnope]\ncaller_ids=['+15551110001']\n", "'ACnope' is not an account SID"),
        (f"[accounts]\n{A} = 'x'\n", "is not a table"),
        (f"[accounts.{A}]\nname = 'x'\n", "caller_ids is missing or empty"),
        (f"[accounts.{A}]\ncaller_ids = []\n", "caller_ids is missing or empty"),
        (f"[accounts.{A}]\ncaller_ids = [5551110001]\n", "not a string"),
        (
            f"[accounts.{A}]\ncaller_ids = ['555-111-0001']\n",
            "'555-111-0001' is not an E.164 number",
        ),
        (f"[accounts.{A}]\ncaller_ids = ['+1']\n", "is not an E.164 number"),
        (f"[accounts.{A}]\nname = 3\ncaller_ids = ['+15551110001']\n", "name is not a string"),
        (f"[accounts.{A}]\ncallerids = ['+15551110001']\n", "unknown key 'callerids'"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AuditorError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(f"policy file {path}: ")
    assert problem in message
    assert "\n" not in message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(AuditorError, match="not found; check the --policy path"):
        load_policy(tmp_path / "nope.toml")
    with pytest.raises(AuditorError, match="is a folder"):
        load_policy(tmp_path)


def test_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AuditorError, match="cannot be read"):
        load_policy(path)
