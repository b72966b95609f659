"""Mailbox providers whose domain says nothing about a person's company.

A small, deliberate list of the large consumer providers (not every free-mail domain in the
world): a company domain is never derived from these, and none is accepted as one.
"""

from __future__ import annotations

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Yahoo, Apple, AOL
        "gmail.com", "googlemail.com",
        "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "live.com",
        "live.co.uk", "msn.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com", "rocketmail.com",
        "icloud.com", "me.com", "mac.com",
        "aol.com",
        # privacy-first and independent providers
        "proton.me", "protonmail.com", "pm.me", "tutanota.com", "tuta.io", "fastmail.com",
        "hey.com", "zohomail.com",
        # large national providers
        "gmx.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "mail.com", "yandex.com",
        "yandex.ru", "mail.ru", "orange.fr", "free.fr", "laposte.net", "libero.it", "qq.com",
        "163.com", "126.com", "naver.com", "comcast.net", "att.net", "verizon.net",
        "btinternet.com", "sky.com",
    }
)  # fmt: skip


def is_free_mail(domain: str) -> bool:
    return domain.lower() in FREE_MAIL_DOMAINS
