"""Where a lead is: ISO 3166-1 alpha-2 countries and IANA time zones.

Countries are stored as upper-case alpha-2 codes. Input may also be a country's English name
or a common alias (``United States``, ``USA``, ``UK``, ``Deutschland`` …), matched case-,
accent- and punctuation-insensitively. Kosovo's ``XK`` (user-assigned, but used by every data
provider) is accepted too.
"""

from __future__ import annotations

import zoneinfo
from functools import cache, lru_cache

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import NAME_MAX, RememberedVerdicts, clean_text, fold

# ISO 3166-1 alpha-2 codes with their short English names (and Kosovo's XK).
COUNTRY_NAMES: dict[str, str] = {
    "AD": "Andorra", "AE": "United Arab Emirates", "AF": "Afghanistan",
    "AG": "Antigua and Barbuda", "AI": "Anguilla", "AL": "Albania", "AM": "Armenia",
    "AO": "Angola", "AQ": "Antarctica", "AR": "Argentina", "AS": "American Samoa",
    "AT": "Austria", "AU": "Australia", "AW": "Aruba", "AX": "Åland Islands", "AZ": "Azerbaijan",
    "BA": "Bosnia and Herzegovina", "BB": "Barbados", "BD": "Bangladesh", "BE": "Belgium",
    "BF": "Burkina Faso", "BG": "Bulgaria", "BH": "Bahrain", "BI": "Burundi", "BJ": "Benin",
    "BL": "Saint Barthélemy", "BM": "Bermuda", "BN": "Brunei", "BO": "Bolivia",
    "BQ": "Bonaire, Sint Eustatius and Saba", "BR": "Brazil", "BS": "Bahamas", "BT": "Bhutan",
    "BV": "Bouvet Island", "BW": "Botswana", "BY": "Belarus", "BZ": "Belize", "CA": "Canada",
    "CC": "Cocos Islands", "CD": "The Democratic Republic Of Congo",
    "CF": "Central African Republic", "CG": "Congo", "CH": "Switzerland", "CI": "Côte d'Ivoire",
    "CK": "Cook Islands", "CL": "Chile", "CM": "Cameroon", "CN": "China", "CO": "Colombia",
    "CR": "Costa Rica", "CU": "Cuba", "CV": "Cape Verde", "CW": "Curaçao",
    "CX": "Christmas Island", "CY": "Cyprus", "CZ": "Czech Republic", "DE": "Germany",
    "DJ": "Djibouti", "DK": "Denmark", "DM": "Dominica", "DO": "Dominican Republic",
    "DZ": "Algeria", "EC": "Ecuador", "EE": "Estonia", "EG": "Egypt", "EH": "Western Sahara",
    "ER": "Eritrea", "ES": "Spain", "ET": "Ethiopia", "FI": "Finland", "FJ": "Fiji",
    "FK": "Falkland Islands", "FM": "Micronesia", "FO": "Faroe Islands", "FR": "France",
    "GA": "Gabon", "GB": "United Kingdom", "GD": "Grenada", "GE": "Georgia",
    "GF": "French Guiana", "GG": "Guernsey", "GH": "Ghana", "GI": "Gibraltar", "GL": "Greenland",
    "GM": "Gambia", "GN": "Guinea", "GP": "Guadeloupe", "GQ": "Equatorial Guinea", "GR": "Greece",
    "GS": "South Georgia And The South Sandwich Islands", "GT": "Guatemala", "GU": "Guam",
    "GW": "Guinea-Bissau", "GY": "Guyana", "HK": "Hong Kong",
    "HM": "Heard Island And McDonald Islands", "HN": "Honduras", "HR": "Croatia", "HT": "Haiti",
    "HU": "Hungary", "ID": "Indonesia", "IE": "Ireland", "IL": "Israel", "IM": "Isle Of Man",
    "IN": "India", "IO": "British Indian Ocean Territory", "IQ": "Iraq", "IR": "Iran",
    "IS": "Iceland", "IT": "Italy", "JE": "Jersey", "JM": "Jamaica", "JO": "Jordan",
    "JP": "Japan", "KE": "Kenya", "KG": "Kyrgyzstan", "KH": "Cambodia", "KI": "Kiribati",
    "KM": "Comoros", "KN": "Saint Kitts And Nevis", "KP": "North Korea", "KR": "South Korea",
    "KW": "Kuwait", "KY": "Cayman Islands", "KZ": "Kazakhstan", "LA": "Laos", "LB": "Lebanon",
    "LC": "Saint Lucia", "LI": "Liechtenstein", "LK": "Sri Lanka", "LR": "Liberia",
    "LS": "Lesotho", "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "LY": "Libya",
    "MA": "Morocco", "MC": "Monaco", "MD": "Moldova", "ME": "Montenegro", "MF": "Saint Martin",
    "MG": "Madagascar", "MH": "Marshall Islands", "MK": "Macedonia", "ML": "Mali",
    "MM": "Myanmar", "MN": "Mongolia", "MO": "Macao", "MP": "Northern Mariana Islands",
    "MQ": "Martinique", "MR": "Mauritania", "MS": "Montserrat", "MT": "Malta", "MU": "Mauritius",
    "MV": "Maldives", "MW": "Malawi", "MX": "Mexico", "MY": "Malaysia", "MZ": "Mozambique",
    "NA": "Namibia", "NC": "New Caledonia", "NE": "Niger", "NF": "Norfolk Island",
    "NG": "Nigeria", "NI": "Nicaragua", "NL": "Netherlands", "NO": "Norway", "NP": "Nepal",
    "NR": "Nauru", "NU": "Niue", "NZ": "New Zealand", "OM": "Oman", "PA": "Panama", "PE": "Peru",
    "PF": "French Polynesia", "PG": "Papua New Guinea", "PH": "Philippines", "PK": "Pakistan",
    "PL": "Poland", "PM": "Saint Pierre And Miquelon", "PN": "Pitcairn", "PR": "Puerto Rico",
    "PS": "Palestine", "PT": "Portugal", "PW": "Palau", "PY": "Paraguay", "QA": "Qatar",
    "RE": "Reunion", "RO": "Romania", "RS": "Serbia", "RU": "Russia", "RW": "Rwanda",
    "SA": "Saudi Arabia", "SB": "Solomon Islands", "SC": "Seychelles", "SD": "Sudan",
    "SE": "Sweden", "SG": "Singapore", "SH": "Saint Helena", "SI": "Slovenia",
    "SJ": "Svalbard And Jan Mayen", "SK": "Slovakia", "SL": "Sierra Leone", "SM": "San Marino",
    "SN": "Senegal", "SO": "Somalia", "SR": "Suriname", "SS": "South Sudan",
    "ST": "Sao Tome And Principe", "SV": "El Salvador", "SX": "Sint Maarten (Dutch part)",
    "SY": "Syria", "SZ": "Swaziland", "TC": "Turks And Caicos Islands", "TD": "Chad",
    "TF": "French Southern Territories", "TG": "Togo", "TH": "Thailand", "TJ": "Tajikistan",
    "TK": "Tokelau", "TL": "Timor-Leste", "TM": "Turkmenistan", "TN": "Tunisia", "TO": "Tonga",
    "TR": "Turkey", "TT": "Trinidad and Tobago", "TV": "Tuvalu", "TW": "Taiwan", "TZ": "Tanzania",
    "UA": "Ukraine", "UG": "Uganda", "UM": "United States Minor Outlying Islands",
    "US": "United States", "UY": "Uruguay", "UZ": "Uzbekistan", "VA": "Vatican",
    "VC": "Saint Vincent And The Grenadines", "VE": "Venezuela", "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands", "VN": "Vietnam", "VU": "Vanuatu", "WF": "Wallis And Futuna",
    "WS": "Samoa", "XK": "Kosovo", "YE": "Yemen", "YT": "Mayotte", "ZA": "South Africa",
    "ZM": "Zambia", "ZW": "Zimbabwe",
}  # fmt: skip
ISO_COUNTRIES: frozenset[str] = frozenset(COUNTRY_NAMES)

_ALIASES = {
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "united states of america": "US",
    "america": "US", "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "uae": "AE", "emirates": "AE", "south korea": "KR", "korea": "KR", "north korea": "KP",
    "russia": "RU", "czechia": "CZ", "czech republic": "CZ", "holland": "NL",
    "the netherlands": "NL", "vietnam": "VN", "viet nam": "VN", "turkey": "TR", "turkiye": "TR",
    "ivory coast": "CI", "cote d'ivoire": "CI", "kosovo": "XK", "taiwan": "TW",
    "hong kong": "HK", "macau": "MO", "macao": "MO", "iran": "IR", "syria": "SY",
    "laos": "LA", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD",
    "palestine": "PS", "vatican": "VA", "brunei": "BN", "cape verde": "CV", "eswatini": "SZ",
    "swaziland": "SZ", "burma": "MM", "myanmar": "MM", "micronesia": "FM",
    "dr congo": "CD", "democratic republic of the congo": "CD", "republic of the congo": "CG",
    # native names seen in European and Latin American exports
    "deutschland": "DE", "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
    "espana": "ES", "italia": "IT", "nederland": "NL", "belgique": "BE", "belgie": "BE",
    "polska": "PL", "sverige": "SE", "norge": "NO", "danmark": "DK", "suomi": "FI",
    "eire": "IE", "brasil": "BR", "ceska republika": "CZ", "magyarorszag": "HU",
}  # fmt: skip


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code, code)


@cache
def _country_names() -> dict[str, str]:
    names = {_name_key(name): code for code, name in COUNTRY_NAMES.items()}
    names.update({_name_key(alias): code for alias, code in _ALIASES.items()})
    return names


def _name_key(name: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in fold(name)).split())


def normalise_country(raw: object, *, field: str = "country") -> str | None:
    return _remembered_countries(raw, field)


def _normalise_country(raw: object, *, field: str) -> str | None:
    value = clean_text(raw, field=field, max_length=NAME_MAX)
    if value is None:
        return None
    code = _country_code(value)
    if code is None:
        raise invalid(field, "invalid_country", "Enter an ISO 3166 country code like US or DE.")
    return code


_remembered_countries = RememberedVerdicts(_normalise_country)


@lru_cache(maxsize=4096)
def _country_code(value: str) -> str | None:
    if len(value) == 2 and value.upper() in ISO_COUNTRIES:
        return value.upper()
    return _country_names().get(_name_key(value))


@cache
def _time_zones() -> dict[str, str]:
    return {zone.casefold(): zone for zone in zoneinfo.available_timezones()}


def normalise_time_zone(raw: object, *, field: str = "time_zone") -> str | None:
    """An IANA time zone name in its canonical spelling (``europe/berlin`` → ``Europe/Berlin``)."""
    return _remembered_time_zones(raw, field)


def _normalise_time_zone(raw: object, *, field: str) -> str | None:
    value = clean_text(raw, field=field, max_length=64)
    if value is None:
        return None
    zone = _time_zones().get(value.replace(" ", "_").casefold())
    if zone is None:
        raise invalid(field, "invalid_time_zone", "Enter an IANA time zone like Europe/Berlin.")
    return zone


_remembered_time_zones = RememberedVerdicts(_normalise_time_zone)
