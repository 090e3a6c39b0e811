"""The register of data-subject requests: erasure is final and idempotent, a restriction can be
lifted, and a run records what it carried out."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lakehouse.subject_register import SubjectRegister


def _refs(register: SubjectRegister, *statuses: str) -> set[str]:
    return {e.subject_ref for e in register.entries() if e.status in statuses}


@pytest.fixture()
def register(tmp_path: Path) -> SubjectRegister:
    return SubjectRegister(tmp_path / "restricted" / "subjects" / "register.sqlite")


def test_the_register_is_private(register: SubjectRegister) -> None:
    assert stat.S_IMODE(register.path.stat().st_mode) == 0o600


def test_an_erasure_is_recorded_once(register: SubjectRegister) -> None:
    assert register.erase("sub_a", actor="dpo", reason="r1", identifier_tokens=["nik_1"])
    assert not register.erase("sub_a", actor="dpo", reason="r2")
    entry = register.get("sub_a")
    assert entry is not None and entry.status == "erased" and entry.reason == "r1"
    assert entry.pending and entry.identifier_tokens == ("nik_1",)
    assert {t for e in register.entries() for t in e.identifier_tokens} == {"nik_1"}
    register.mark_applied(["sub_a"])
    assert not register.pending() and _refs(register, "erased") == {"sub_a"}


def test_an_erased_subject_cannot_be_restricted(register: SubjectRegister) -> None:
    register.erase("sub_a", actor="dpo", reason="r")
    with pytest.raises(ValueError, match="erased"):
        register.restrict("sub_a", actor="dpo", reason="r")


def test_a_restricted_subject_can_be_erased(register: SubjectRegister) -> None:
    register.restrict("sub_a", actor="dpo", reason="r", identifier_tokens=["nik_1"])
    register.mark_applied(["sub_a"])
    assert register.erase("sub_a", actor="dpo", reason="erasure")
    entry = register.get("sub_a")
    assert entry is not None and entry.status == "erased" and entry.pending
    assert entry.identifier_tokens == ("nik_1",)  # kept when the request names none


def test_lifting_a_restriction(register: SubjectRegister) -> None:
    assert not register.lift("sub_a", actor="dpo", reason="r")  # not restricted
    register.restrict("sub_a", actor="dpo", reason="r")
    assert not register.restrict("sub_a", actor="dpo", reason="again")
    assert register.lift("sub_a", actor="dpo", reason="lifted before any run")
    assert register.get("sub_a") is None  # never carried out: nothing held, nothing to return
    register.restrict("sub_b", actor="dpo", reason="r")
    register.mark_applied(["sub_b"])
    assert register.lift("sub_b", actor="dpo", reason="lifted")
    entry = register.get("sub_b")
    assert entry is not None and entry.status == "lifted" and entry.pending
    assert _refs(register, "restricted", "lifted") == {"sub_b"}  # held until the run returns them
    register.mark_applied(["sub_b"])
    assert register.get("sub_b") is None


def test_restricting_again_before_a_lift_was_carried_out(register: SubjectRegister) -> None:
    register.restrict("sub_a", actor="dpo", reason="r")
    register.mark_applied(["sub_a"])
    register.lift("sub_a", actor="dpo", reason="lift")
    assert register.restrict("sub_a", actor="dpo", reason="again")
    entry = register.get("sub_a")
    assert entry is not None and entry.status == "restricted" and not entry.pending
