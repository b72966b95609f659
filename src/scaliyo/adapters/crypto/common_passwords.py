"""The common-password list: the 30,000 most common passwords shipped with ``zxcvbn``.

Loaded once per process and case-folded, as ``check_password`` compares case-folded input.
"""

from __future__ import annotations

import unicodedata
from functools import cache


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(
        unicodedata.normalize("NFKC", password).casefold()
        for password in FREQUENCY_LISTS["passwords"]
    )
