"""The job settings read from the environment, validated with messages naming the variable."""

from __future__ import annotations

import pytest

from scaliyo.adapters.settings import SettingsError, load_settings


def test_job_settings_have_generous_defaults():
    settings = load_settings({})
    assert settings.job_ack_wait_seconds == 600
    assert settings.job_lease_seconds == 60
    assert settings.job_max_deliver == 100
    assert settings.job_sweep_after_seconds == 900
    assert settings.worker_shutdown_grace_seconds == 20
    assert (settings.ai_rate_limit, settings.ai_rate_window_seconds) == (10, 60)


def test_job_settings_come_from_their_variables():
    settings = load_settings(
        {
            "SCALIYO_JOB_ACK_WAIT_SECONDS": "3",
            "SCALIYO_JOB_MAX_DELIVER": "7",
            "SCALIYO_JOB_SWEEP_AFTER_SECONDS": "1",
            "SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS": "0",
        }
    )
    assert settings.job_ack_wait_seconds == 3
    assert settings.job_max_deliver == 7
    assert settings.job_sweep_after_seconds == 1
    assert settings.worker_shutdown_grace_seconds == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCALIYO_JOB_ACK_WAIT_SECONDS", "0"),
        ("SCALIYO_JOB_MAX_DELIVER", "0"),
        ("SCALIYO_JOB_SWEEP_AFTER_SECONDS", "soon"),
        ("SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS", "-1"),
    ],
)
def test_a_bad_job_setting_is_refused_naming_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})
