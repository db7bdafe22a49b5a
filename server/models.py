"""Rows as dataclasses, each with ``to_api()`` giving its shape on the wire."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from . import money
from .db import Row

Role = Literal["admin", "reviewer", "manager", "owner", "shopper"]
ROLES: tuple[Role, ...] = ("admin", "reviewer", "manager", "owner", "shopper")


def _json(raw: str | None, default: Any) -> Any:
    return default if raw is None else json.loads(raw)


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: Role
    locale: str | None
    active: bool
    branch_ids: frozenset[int] = field(default_factory=frozenset)  # owners
    chain_ids: frozenset[int] = field(default_factory=frozenset)  # managers
    token: str | None = None  # the name of the API token this principal reads with

    @classmethod
    def from_row(
        cls,
        row: Row,
        branch_ids: frozenset[int] = frozenset(),
        chain_ids: frozenset[int] = frozenset(),
    ) -> User:
        return cls(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            role=row["role"],
            locale=row["locale"],
            active=bool(row["active"]),
            branch_ids=branch_ids,
            chain_ids=chain_ids,
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "locale": self.locale,
            "branch_ids": sorted(self.branch_ids),
            "chain_ids": sorted(self.chain_ids),
        }


@dataclass(frozen=True)
class Chain:
    id: int
    code: str
    name: str

    @classmethod
    def from_row(cls, row: Row) -> Chain:
        return cls(id=row["id"], code=row["code"], name=row["name"])

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name}


@dataclass(frozen=True)
class Branch:
    id: int
    chain_id: int
    code: str
    name: str
    region: str
    city: str
    address: str
    latitude: float | None
    longitude: float | None
    timezone: str

    @classmethod
    def from_row(cls, row: Row) -> Branch:
        return cls(
            id=row["id"],
            chain_id=row["chain_id"],
            code=row["code"],
            name=row["name"],
            region=row["region"],
            city=row["city"],
            address=row["address"],
            latitude=row["latitude"],
            longitude=row["longitude"],
            timezone=row["timezone"],
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chain_id": self.chain_id,
            "code": self.code,
            "name": self.name,
            "region": self.region,
            "city": self.city,
            "address": self.address,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "timezone": self.timezone,
        }


@dataclass(frozen=True)
class Assignment:
    id: int
    branch_id: int
    shopper_id: int | None
    questionnaire_id: str
    questionnaire_version: int
    window_start: str
    window_end: str
    scenario: str
    state: str
    created_at: str = ""
    scenario_key: str | None = None
    """One of the questionnaire's declared scenarios (conditions may test it), or None."""
    fee_minor: int = 0
    reimburse_max_minor: int = 0
    reimburse_question: str | None = None
    currency: str | None = None
    """What the visit pays (minor units of ``currency``; None: made before pay existed)."""

    @classmethod
    def from_row(cls, row: Row) -> Assignment:
        return cls(
            id=row["id"],
            branch_id=row["branch_id"],
            shopper_id=row["shopper_id"],
            questionnaire_id=row["questionnaire_id"],
            questionnaire_version=row["questionnaire_version"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            scenario=row["scenario"],
            state=row["state"],
            created_at=row["created_at"] if "created_at" in row.keys() else "",
            scenario_key=row["scenario_key"] if "scenario_key" in row.keys() else None,
            fee_minor=row["fee_minor"] if "fee_minor" in row.keys() else 0,
            reimburse_max_minor=(
                row["reimburse_max_minor"] if "reimburse_max_minor" in row.keys() else 0
            ),
            reimburse_question=(
                row["reimburse_question"] if "reimburse_question" in row.keys() else None
            ),
            currency=row["currency"] if "currency" in row.keys() else None,
        )

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "branch_id": self.branch_id,
            "questionnaire": {"id": self.questionnaire_id, "version": self.questionnaire_version},
            "window": {"start": self.window_start, "end": self.window_end},
            "scenario": self.scenario,
            "scenario_key": self.scenario_key,
            "state": self.state,
            "pay": self.pay_api(),
        }

    def pay_api(self) -> dict[str, Any] | None:
        """What the visit pays, for the shopper (None: nothing)."""
        if self.currency is None or not (self.fee_minor or self.reimburse_max_minor):
            return None
        return {
            "currency": self.currency,
            "minor_digits": money.digits(self.currency),
            "fee_minor": self.fee_minor,
            "reimburse_max_minor": self.reimburse_max_minor,
        }
