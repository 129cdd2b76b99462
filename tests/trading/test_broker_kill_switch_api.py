"""POST /api/hft/halt's broker_kill_switch and `signaldesk hft halt --broker-kill-switch` on a
real server (paper): a bad body is a 422 naming the field, a venue without a kill switch a 409
(exit 1) naming it, and nothing changes either way; the status shows the switch."""

from __future__ import annotations

from tests.support.server import ServerProcess
from tests.trading.live import FAST, cli, post, status


async def test_the_halt_body_is_checked_and_paper_refuses_the_broker_kill_switch(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env=FAST)
    server.start()
    assert status(server)["broker_kill_switch"] == {"engaged": False, "at": None, "segments": []}
    assert post(server, "start").status_code == 200

    for body, field in (
        ({"broker_kill_switch": "yes"}, "broker_kill_switch"),
        ({"broker_kill_switch": 1}, "broker_kill_switch"),
        ({"broker_kill_switch": True, "segments": ["NSE_EQ"]}, "segments"),
    ):
        bad = post(server, "halt", body)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", field], bad.text
    refused = post(server, "halt", {"broker_kill_switch": True})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("the paper broker has no kill switch")
    assert status(server)["state"] == "running"

    by_cli = cli(server, "halt", "--broker-kill-switch")
    assert (
        by_cli.returncode == 1 and "error 409" in by_cli.stderr and "paper broker has no kill switch" in by_cli.stderr
    )
    assert status(server)["state"] == "running"

    halted = cli(server, "halt", "--reason", "plain")
    assert halted.returncode == 0, halted.stderr
    state = status(server)
    assert (state["state"], state["halted_reason"]) == ("halted", "plain")
    assert state["broker_kill_switch"] == {"engaged": False, "at": None, "segments": []}
