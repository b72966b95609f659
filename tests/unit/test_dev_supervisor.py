"""The dev supervisor's pure rules: restart back-off, child specs and environment, URLs."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import URL, make_url

from scaliyo.entrypoints.dev.children import (
    BASE_DELAY_SECONDS,
    MAX_DELAY_SECONDS,
    STABLE_AFTER_SECONDS,
    StackUrls,
    api_url,
    child_env,
    child_specs,
    describe_exit,
    next_quick_exits,
    restart_delay,
)
from scaliyo.entrypoints.dev.supervisor import shown_url, socket_url

STACK = {
    "database_url": "postgresql://postgres@/scaliyo?host=/tmp/x/pg",
    "nats_url": "nats://127.0.0.1:40001",
    "host": "127.0.0.1",
    "port": 8123,
    "data_dir": "/tmp/x",
}


def test_restart_delay_doubles_from_one_second_up_to_the_cap():
    delays = [restart_delay(n) for n in range(1, 9)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


@given(st.integers(min_value=0, max_value=10_000))
def test_restart_delay_stays_between_base_and_cap(quick_exits):
    assert BASE_DELAY_SECONDS <= restart_delay(quick_exits) <= MAX_DELAY_SECONDS


@given(st.integers(min_value=1, max_value=1_000))
def test_restart_delay_never_shrinks_while_exits_stay_quick(quick_exits):
    assert restart_delay(quick_exits + 1) >= restart_delay(quick_exits)


def test_a_child_that_stayed_up_restarts_after_the_base_delay_again():
    quick = next_quick_exits(5, uptime_seconds=0.3)
    assert quick == 6
    assert restart_delay(quick) == MAX_DELAY_SECONDS
    stable = next_quick_exits(quick, uptime_seconds=STABLE_AFTER_SECONDS + 1)
    assert restart_delay(stable) == BASE_DELAY_SECONDS


def test_exits_are_described_with_the_signal_name_or_code():
    assert describe_exit(-9) == "killed by SIGKILL (exit code -9)"
    assert describe_exit(-15).startswith("killed by SIGTERM")
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(3) == "exit code 3"


def test_children_run_the_production_commands():
    specs = child_specs({"A": "1"}, python="/venv/bin/python")
    assert [spec.name for spec in specs] == ["api", "worker", "scheduler"]
    assert specs[1].argv == ("/venv/bin/python", "-m", "scaliyo.entrypoints.cli.main", "worker")
    assert all(spec.env == {"A": "1"} for spec in specs)
    assert child_specs({})[0].argv[0] == sys.executable


def test_child_env_carries_the_stack_and_keeps_the_callers_variables():
    base = {
        "PATH": "/usr/bin",
        "SCALIYO_ENV": "production",
        "DATABASE_URL": "postgresql://elsewhere/db",
        "SCALIYO_LOG_FORMAT": "json",
    }
    env = child_env(base, **STACK)
    assert env["PATH"] == "/usr/bin"
    assert env["DATABASE_URL"] == STACK["database_url"]
    assert env["NATS_URL"] == STACK["nats_url"]
    assert env["SCALIYO_ENV"] == "dev"
    assert env["SCALIYO_PORT"] == "8123"
    assert env["SCALIYO_HOST"] == "127.0.0.1"
    assert env["SCALIYO_DATA_DIR"] == "/tmp/x"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["SCALIYO_LOG_FORMAT"] == "json"  # the caller's choice wins over the dev default
    assert base["SCALIYO_ENV"] == "production"  # the caller's mapping is left alone


def test_child_env_defaults_to_readable_logs():
    assert child_env({}, **STACK)["SCALIYO_LOG_FORMAT"] == "console"


def test_stack_urls_name_every_endpoint():
    urls = StackUrls(
        api=api_url("127.0.0.1", 8000),
        database=STACK["database_url"],
        nats=STACK["nats_url"],
        data_dir="/tmp/x",
        embedded_database=True,
        embedded_nats=False,
    ).as_json()
    assert urls["api_url"] == "http://127.0.0.1:8000"
    assert urls["schema_url"] == "http://127.0.0.1:8000/schema"
    assert urls["readyz_url"] == "http://127.0.0.1:8000/readyz"
    assert urls["database_url"] == STACK["database_url"]
    assert urls["embedded_nats"] is False


def test_an_ipv6_host_is_bracketed():
    assert api_url("::1", 8000) == "http://[::1]:8000"


def test_the_socket_url_is_the_plain_postgresql_form():
    raw = "postgresql+asyncpg://postgres@/postgres?host=/tmp/sd/pg"
    url = socket_url(raw, "scaliyo")
    assert url == "postgresql://postgres@/scaliyo?host=/tmp/sd/pg"
    parsed = make_url(url)
    assert parsed.database == "scaliyo"
    assert parsed.query["host"] == "/tmp/sd/pg"


def test_an_odd_socket_directory_survives_the_round_trip():
    raw = URL.create(
        "postgresql+asyncpg", username="postgres", database="postgres", query={"host": "/t/a b&c"}
    ).render_as_string(hide_password=False)
    assert make_url(socket_url(raw, "scaliyo")).query["host"] == "/t/a b&c"


def test_a_password_is_never_shown():
    shown = shown_url("postgresql://app:s3cret@db.example.com:5432/scaliyo")
    assert "s3cret" not in shown
    assert "db.example.com" in shown


def test_a_url_without_password_is_shown_as_given():
    assert shown_url(STACK["database_url"]) == STACK["database_url"]
