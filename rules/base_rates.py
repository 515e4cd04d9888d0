"""Statutory base rates (Basiszinssatz) of Germany and Austria, as dated tables.

Pure Python, no Flask, no database: ``base_rate("DE", day)`` answers the rate in percent per year
that was in force on ``day``; a day before a table's first row or after its ``valid_until`` raises
``BaseRateUnknown`` instead of guessing. Nothing here extrapolates: when a new half-year begins,
someone adds its row and moves ``valid_until`` (the error message says so).

Germany, § 247 BGB: the Deutsche Bundesbank fixes the rate for each half-year on 1 January and
1 July (§ 247 (1) BGB: it moves by as many points as the rate of the ECB's latest main refinancing
operation before that day moved since the last change) and publishes it in the Bundesanzeiger.
The table has one row for every half-year, equal or not to the one before.

Austria, 1. Euro-Justiz-Begleitgesetz (BGBl. I Nr. 125/1998) with the Basis- und
Referenzzinssatzverordnung (BGBl. II Nr. 27/1999, since 1 August 2002 in the version
BGBl. II Nr. 309/2002): the OeNB's base rate follows the ECB's main refinancing rate whenever it
has moved by 0.50 points or more since the last change, with effect from the day the new ECB rate
applies. It changes on any day of the year, so its table is of (valid_from, rate) rows, not
half-years. (§ 456 UGB then reads it on the first day of each half-year; that is
``ledger/interest.py``'s business, not this table's.)
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

UPDATE_HINT = "update rules/base_rates.py"


class BaseRateUnknown(ValueError):
    """No verified base rate for that country and day: before the table or after valid_until."""


@dataclass(frozen=True)
class BaseRateTable:
    country: str
    adjective: str  # "German": the error message reads "the German base rate is known up to …"
    law: str
    rows: tuple[tuple[date, Decimal], ...]  # (valid_from, percent per year), sorted
    valid_until: date  # the last day the newest row is known to be in force
    _starts: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_starts", tuple(start for start, _ in self.rows))

    @property
    def known_from(self) -> date:
        return self.rows[0][0]

    def rate(self, day: date) -> Decimal:
        if day < self.known_from:
            raise BaseRateUnknown(
                f"no {self.adjective} base rate for {day:%d.%m.%Y}: the {self.adjective} base rate"
                f" is known from {self.known_from:%d.%m.%Y} on"
            )
        if day > self.valid_until:
            raise BaseRateUnknown(
                f"no {self.adjective} base rate for {day:%d.%m.%Y}: the {self.adjective} base rate"
                f" is known up to {self.valid_until:%d.%m.%Y}; {UPDATE_HINT}"
            )
        return self.rows[bisect_right(self._starts, day) - 1][1]

    def changes(self, start: date, end: date) -> list[date]:
        """The days strictly between start and end on which a row begins."""
        return [day for day in self._starts if start < day < end]


def _rows(*pairs: tuple[str, str]) -> tuple[tuple[date, Decimal], ...]:
    return tuple((date.fromisoformat(day), Decimal(rate)) for day, rate in pairs)


# ---------------------------------------------------------------------------------------------
# Germany. Sources (each value checked against at least one; the Bundesbank's own list is
# https://www.bundesbank.de/de/bundesbank/organisation/agb-und-regelungen/basiszinssatz-607820):
# - 01.01.2002 2.57: Bundesbank announcement (§ 247 (2) BGB) "von 3,62 % auf 2,57 %", NWB
#   datenbank.nwb.de/Dokument/3626.
# - 01.07.2002 to 01.01.2023: Prütting/Wegen/Weinreich, BGB § 247 Rn 3 (haufe.de), the full list
#   down to "1,62 % (BAnz AT 28.12.22 B5)"; cross-checked with ais-rechtsanwaelte.de (2002-2011),
#   Bundesbank press releases for 1.7.2007, 1.1.2009, 1.7.2013, 1.1.2020, 1.7.2020, 1.1.2021
#   (bundesbank.de, lifepr.de, mitfugundrecht.de, assekuranz-info-portal.de), 1.7.2011/1.1.2012
#   (sgv-stuttgart.de, ulrichkaminski.de), 1.7.2014 -0.73 (rechtsanwaeltin-fuldner-steuerrecht.de),
#   1.7.2016 -0.88 (boersen-zeitung.de, stb-bruns.com).
# - 01.07.2023 3.12: Bundesbank via finanznachrichten.de (06/2023) "von 1,62 auf 3,12".
# - 01.01.2024 3.62: vdwbayern.de, IHK Kassel, handwerk.com "von 3,12 auf 3,62".
# - 01.07.2024 3.37: computed by § 247 (1) BGB: the ECB's MRO rate fell from 4.50 to 4.25 % on
#   12.06.2024 and stood at 4.25 % in July 2024 (br.de, cash.ch, stol.it): 3.62 - 0.25 = 3.37;
#   consistent with the next row (MRO 3.15 % from 18.12.2024: 3.37 - 1.10 = 2.27).
# - 01.01.2025 2.27 and 01.07.2025 1.27: iww.de "zum 1.7.25 von 2,27 % auf 1,27 % gesenkt".
# - 01.01.2026 1.27: Bundesbank release of 23.12.2025 (finanzmarktnachrichten.de,
#   state-of.biz/bbk): MRO 2.15 % on 22.12.2025, unchanged since 1.7.2025.
# NOT verified: the rate from 01.07.2026. No primary or press source for it could be found (one
# third-party repository claims 1.52 %, which would mean an ECB rise to 2.40 %; unconfirmed, not
# used). The table therefore ends on 30.06.2026 and base_rate("DE", day) raises after that day.
# To extend it: add ("2026-07-01", "<rate>") from the Bundesbank page above and set valid_until
# to date(2026, 12, 31).
GERMANY = BaseRateTable(
    country="DE",
    adjective="German",
    law="§ 247 BGB",
    rows=_rows(
        ("2002-01-01", "2.57"),
        ("2002-07-01", "2.47"),
        ("2003-01-01", "1.97"),
        ("2003-07-01", "1.22"),
        ("2004-01-01", "1.14"),
        ("2004-07-01", "1.13"),
        ("2005-01-01", "1.21"),
        ("2005-07-01", "1.17"),
        ("2006-01-01", "1.37"),
        ("2006-07-01", "1.95"),
        ("2007-01-01", "2.70"),
        ("2007-07-01", "3.19"),
        ("2008-01-01", "3.32"),
        ("2008-07-01", "3.19"),
        ("2009-01-01", "1.62"),
        ("2009-07-01", "0.12"),
        ("2010-01-01", "0.12"),
        ("2010-07-01", "0.12"),
        ("2011-01-01", "0.12"),
        ("2011-07-01", "0.37"),
        ("2012-01-01", "0.12"),
        ("2012-07-01", "0.12"),
        ("2013-01-01", "-0.13"),
        ("2013-07-01", "-0.38"),
        ("2014-01-01", "-0.63"),
        ("2014-07-01", "-0.73"),
        ("2015-01-01", "-0.83"),
        ("2015-07-01", "-0.83"),
        ("2016-01-01", "-0.83"),
        ("2016-07-01", "-0.88"),
        ("2017-01-01", "-0.88"),
        ("2017-07-01", "-0.88"),
        ("2018-01-01", "-0.88"),
        ("2018-07-01", "-0.88"),
        ("2019-01-01", "-0.88"),
        ("2019-07-01", "-0.88"),
        ("2020-01-01", "-0.88"),
        ("2020-07-01", "-0.88"),
        ("2021-01-01", "-0.88"),
        ("2021-07-01", "-0.88"),
        ("2022-01-01", "-0.88"),
        ("2022-07-01", "-0.88"),
        ("2023-01-01", "1.62"),
        ("2023-07-01", "3.12"),
        ("2024-01-01", "3.62"),
        ("2024-07-01", "3.37"),
        ("2025-01-01", "2.27"),
        ("2025-07-01", "1.27"),
        ("2026-01-01", "1.27"),
    ),
    valid_until=date(2026, 6, 30),
)

# ---------------------------------------------------------------------------------------------
# Austria. The OeNB's own table is "Basis- und Referenzzinssätze der Oesterreichischen
# Nationalbank" (oenb.at, Statistik > Zinssätze und Wechselkurse; also "Anknüpfungszinssätze").
# It could not be read from here in full, so every row is checked against OeNB press releases
# (OTS) or publications quoting them; where only the value is confirmed and the day is the day
# the ECB's matching MRO change took effect, the row says "day from the ECB".
# valid_until: the ECB kept its MRO rate at 2.15 % on 05.02.2026 (ECB decision, reported by
# deutschlandfunk.de and informedclearly.com); nothing later could be verified, so the table is
# known up to that day. A third-party repository (retrieved from the OeNB 22.09.2026) lists 1.53 %
# on 01.07.2026 too; unconfirmed, not relied on.
AUSTRIA = BaseRateTable(
    country="AT",
    adjective="Austrian",
    law="1. Euro-JuBeG, BGBl. I Nr. 125/1998",
    rows=_rows(
        # OeNB OTS 10.12.2002 (last change 09.11.2001); benzer.at's OeNB table: 2.75 % from then
        ("2001-11-09", "2.75"),
        ("2002-12-11", "2.20"),  # OeNB OTS 10.12.2002 ("mit Wirksamkeit vom 11. Dezember 2002")
        ("2003-06-09", "1.47"),  # benzer.at (OeNB table "09.06.2003 1,47"); bdr.twoday.net
        # value: OeNB release 10.10.2006 ("von 1,97 %"), § 1333 rate 9.97 % from 1.7.2006
        # (bruckbaeck.at); day: the release names 27.04.2006 as the date of that change
        ("2006-04-27", "1.97"),
        ("2006-10-11", "2.67"),  # OeNB release 10.10.2006 (oe-journal.at, derstandard.at)
        # value: 3.19 % on 30.06.2007 and until 08.07.2008 (bruckbaeck.at, dr-weiss.at);
        # day from the ECB (MRO 3.75 % from 14.03.2007): NOT verified
        ("2007-03-14", "3.19"),
        ("2008-07-09", "3.70"),  # OeNB release 08.07.2008 (dr-weiss.at, diepresse.com)
        ("2008-10-15", "3.13"),  # OeNB release 10/2008 (oe-journal.at)
        ("2008-11-12", "2.63"),  # OeNB release 06.11.2008 (steuerberater-dr-weiss.at)
        ("2008-12-10", "1.88"),  # bruckbaeck.at ("ab 10.12.2008"), junia.at (9.88 % from 1.1.2009)
        # derived, NOT verified: ECB MRO 2.50 -> 2.00 % on 21.01.2009 (a 0.50 move)
        ("2009-01-21", "1.38"),
        # value: OeNB release 05/2009 ("derzeit 0,88 %"); day from the ECB (1.50 %, 11.03.2009)
        ("2009-03-11", "0.88"),
        ("2009-05-13", "0.38"),  # OeNB release 05/2009 ("ab dem 13. Mai 2009 0,38 %")
        # day: bruckbaeck.at (0.38 % "bis 13.7.2011"); value derived (ECB +0.25 on 13.04. and
        # on 13.07.2011), NOT verified
        ("2011-07-13", "0.88"),
        # value: jusline.at ("seit Dezember 2011: 0,38%"); day from the ECB (1.00 %, 14.12.2011)
        ("2011-12-14", "0.38"),
        ("2013-05-08", "-0.12"),  # salzburg.com (APA), pollysteuerfrei.at ("seit 8. Mai 2013")
        ("2016-03-16", "-0.62"),  # OeNB press release 11.03.2016 (oenb.at)
        ("2022-07-27", "-0.12"),  # uniconsult.at; lexisnexis ARD 2022/38
        ("2022-09-14", "0.63"),  # henning.at, vallaster-steuerberatung.at; lexisnexis ARD 2022/38
        # value: stb-fuchshuber.at (Stundungszinsen 3.38 % = base + 2 until 20.12.2022);
        # day from the ECB (MRO 2.00 %, 02.11.2022)
        ("2022-11-02", "1.38"),
        ("2022-12-21", "1.88"),  # stb-fuchshuber.at ("seit 21.12.2022"); solidbau.at
        # value: l2-steuerberatung.at (4.38 % = base + 2 before 22.3.2023);
        # day from the ECB (MRO 3.00 %, 08.02.2023)
        ("2023-02-08", "2.38"),
        ("2023-03-22", "2.88"),  # l2-steuerberatung.at, solidbau.at ("mit Wirkung vom 22.3.2023")
        # value: OeNB OTS 14.09.2023 ("von derzeit 3,38"); day from the ECB (MRO 4.00 %, 21.06.2023)
        ("2023-06-21", "3.38"),
        ("2023-09-20", "3.88"),  # OeNB OTS 14.09.2023
        ("2024-09-18", "3.03"),  # OeNB OTS 12.09.2024
        ("2024-12-18", "2.53"),  # OeNB OTS 12.12.2024; EVI announcement 16.12.2024 (evi.gv.at)
        # value: OeNB release 06/2025 ("von 2,03 %"); day from the ECB (MRO 2.65 %, 12.03.2025)
        ("2025-03-12", "2.03"),
        ("2025-06-11", "1.53"),  # OeNB release 06/2025 (via firmenwebseiten.at)
    ),
    valid_until=date(2026, 2, 5),
)

TABLES: dict[str, BaseRateTable] = {"DE": GERMANY, "AT": AUSTRIA}


def table(country: str) -> BaseRateTable:
    try:
        return TABLES[country.upper()]
    except KeyError:
        raise BaseRateUnknown(
            f"no base-rate table for country {country!r}; there are tables for " + ", ".join(TABLES)
        ) from None


def base_rate(country: str, day: date) -> Decimal:
    """The base rate in percent per year in force in ``country`` ("DE" or "AT") on ``day``."""
    return table(country).rate(day)


def known_until(country: str) -> date:
    """The last day for which ``base_rate(country, day)`` answers."""
    return table(country).valid_until


def known_from(country: str) -> date:
    """The first day for which ``base_rate(country, day)`` answers."""
    return table(country).known_from


def rate_changes(country: str, start: date, end: date) -> list[date]:
    """The days strictly between start and end on which a new row of the table begins."""
    return table(country).changes(start, end)
