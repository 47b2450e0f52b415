"""Routing: the owner when available, else the teammate with most room, else the queue."""

from __future__ import annotations

from nextmove.execution import Assignment, RoutingRequest, Teammate, route, route_all

QUEUE = "queue:team-sales"


def roster(*mates: Teammate) -> dict[str, Teammate]:
    return {mate.owner_id: mate for mate in mates}


def test_a_present_owner_with_room_keeps_the_account() -> None:
    found = route(
        RoutingRequest("a1", "ana"),
        team_queue=QUEUE,
        roster=roster(Teammate("ana", 1), Teammate("ben", 9)),
    )
    assert found == Assignment("a1", "ana", False, "account owner ana")


def test_an_absent_owner_hands_over_to_the_teammate_with_most_room() -> None:
    found = route(
        RoutingRequest("a1", "ana"),
        team_queue=QUEUE,
        roster=roster(
            Teammate("ana", 8, absent=True),
            Teammate("ben", 3),
            Teammate("cy", 5),
            Teammate("dee", 9, absent=True),
        ),
    )
    assert found.assignee == "cy" and found.reassigned
    assert found.reason == "owner ana is absent; reassigned to cy, who has the most room (5 left)"


def test_an_owner_without_capacity_hands_over_too() -> None:
    found = route(
        RoutingRequest("a1", "ana"),
        team_queue=QUEUE,
        roster=roster(Teammate("ana", 0), Teammate("ben", 2)),
    )
    assert (found.assignee, found.reassigned) == ("ben", True)
    assert found.reason.startswith("owner ana has no capacity left; reassigned to ben")


def test_an_owner_not_on_the_roster_hands_over() -> None:
    found = route(
        RoutingRequest("a1", "left-the-company"),
        team_queue=QUEUE,
        roster=roster(Teammate("ben", 2)),
    )
    assert found.assignee == "ben"
    assert "left-the-company is not on the team roster" in found.reason


def test_an_unowned_account_goes_to_the_team_queue() -> None:
    found = route(RoutingRequest("a1", None), team_queue=QUEUE, roster=roster(Teammate("ben", 2)))
    assert (found.assignee, found.reassigned) == (QUEUE, False)
    assert "no owner" in found.reason


def test_with_nobody_available_the_item_waits_in_the_queue() -> None:
    found = route(
        RoutingRequest("a1", "ana"),
        team_queue=QUEUE,
        roster=roster(Teammate("ana", 5, absent=True), Teammate("ben", 0)),
    )
    assert (found.assignee, found.reassigned) == (QUEUE, True)
    assert found.reason == (
        f"owner ana is absent and nobody on the team has room left, so it waits in {QUEUE}"
    )


def test_ties_go_to_the_first_id_so_routing_is_reproducible() -> None:
    found = route(
        RoutingRequest("a1", "ana"),
        team_queue=QUEUE,
        roster=roster(Teammate("ana", 0), Teammate("zed", 4), Teammate("bo", 4)),
    )
    assert found.assignee == "bo"


def test_a_batch_spreads_reassigned_work_by_remaining_capacity() -> None:
    team = [Teammate("ana", 9, absent=True), Teammate("ben", 3), Teammate("cy", 2)]
    requests = [RoutingRequest(f"a{n}", "ana") for n in range(6)]
    assignments = route_all(requests, team_queue=QUEUE, roster=team)
    assert [a.assignee for a in assignments] == ["ben", "ben", "cy", "ben", "cy", QUEUE]
    # the caller's roster is not changed
    assert team[1] == Teammate("ben", 3)


def test_a_batch_uses_up_the_owner_before_handing_over() -> None:
    team = [Teammate("ana", 2), Teammate("ben", 5)]
    requests = [RoutingRequest(f"a{n}", "ana") for n in range(3)] + [RoutingRequest("b", "ben")]
    assignments = route_all(requests, team_queue=QUEUE, roster=team)
    assert [a.assignee for a in assignments] == ["ana", "ana", "ben", "ben"]
    assert [a.reassigned for a in assignments] == [False, False, True, False]
    assert "ana has no capacity left" in assignments[2].reason
