"""US and UK street addresses: house number, capitalised name, suffix, unit."""

from __future__ import annotations

from strongroom.deid.recognizers.base import CASED_FLAGS, DeclaredRecognizer

_STREET_SUFFIXES = (
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Drive", "Dr", "Court", "Ct",
    "Boulevard", "Blvd", "Way", "Place", "Pl", "Terrace", "Close", "Crescent", "Grove", "Gardens",
    "Mews", "Row", "Square", "Hill", "Parkway", "Pkwy", "Circle", "Cir", "Highway", "Hwy",
    # USPS Publication 28 suffixes (full words; plurals are listed where USPS lists them)
    "Alley", "Bend", "Bluff", "Bluffs", "Bottom", "Branch", "Bridge", "Brook", "Brooks", "Burg",
    "Bypass", "Camp", "Canyon", "Cape", "Causeway", "Center", "Centers", "Cliff", "Cliffs", "Club",
    "Common", "Commons", "Corner", "Corners", "Course", "Courts", "Cove", "Coves", "Creek",
    "Crossing", "Crossroad", "Curve", "Dale", "Dam", "Divide", "Drives", "Estate", "Estates",
    "Expressway", "Extension", "Falls", "Ferry", "Field", "Fields", "Flat", "Flats", "Ford",
    "Forest", "Forge", "Forges", "Fork", "Forks", "Fort", "Freeway", "Garden", "Gateway", "Glen",
    "Glens", "Green", "Greens", "Harbor", "Harbors", "Haven", "Heights", "Hills", "Hollow", "Inlet",
    "Island", "Islands", "Isle", "Junction", "Junctions", "Key", "Keys", "Knoll", "Knolls", "Lake",
    "Lakes", "Landing", "Light", "Lights", "Loaf", "Lock", "Locks", "Lodge", "Loop", "Mall",
    "Manor", "Manors", "Meadow", "Meadows", "Mill", "Mills", "Mission", "Motorway", "Mount",
    "Mountain", "Mountains", "Neck", "Orchard", "Oval", "Overpass", "Park", "Parks", "Pass",
    "Passage", "Path", "Pike", "Pine", "Pines", "Plain", "Plains", "Plaza", "Point", "Points",
    "Port", "Ports", "Prairie", "Radial", "Ramp", "Ranch", "Rapid", "Rapids", "Rest", "Ridge",
    "Ridges", "River", "Roads", "Route", "Shoal", "Shoals", "Shore", "Shores", "Skyway", "Spring",
    "Springs", "Spur", "Spurs", "Squares", "Station", "Stream", "Streets", "Summit", "Terr",
    "Trace", "Track", "Trafficway", "Trail", "Trailer", "Tunnel", "Turnpike", "Underpass", "Union",
    "Unions", "Valley", "Valleys", "Viaduct", "View", "Views", "Village", "Villages", "Ville",
    "Vista", "Walk", "Walks", "Wall", "Ways", "Well", "Wells",
    # abbreviations of the UK and of Greek and German street names written in Latin letters
    "Sq", "Cres", "Gdns", "Str",
)  # fmt: skip
# Title case or upper case ("12 MAIN ST" in bank data), never lower case ("2 blocks down the road").
_SUFFIX = "|".join(
    sorted({v for w in _STREET_SUFFIXES for v in (w, w.upper())}, key=lambda s: (-len(s), s))
)
_UNIT = r"(?i:apt|apartment|suite|ste|unit|flat|studio|room)\.?\s*\#?\s*[0-9]+[A-Z]?"


class StreetAddressRecognizer(DeclaredRecognizer):
    ENTITY = "STREET_ADDRESS"
    FLAGS = CASED_FLAGS  # capitalisation is what separates a street name from prose
    PATTERNS = (
        (
            "street_address",
            r"(?=[0-9]|(?i:ap|fl|ro|st|su|un))"  # a house number or a unit word: a quick test
            rf"(?:\b{_UNIT},?\s+)?"  # "Flat 3, 12 Baker Street"
            r"\b[0-9]{1,5}[A-Z]?\s+"  # house number, "221B"
            r"(?:(?:[A-Z][A-Za-z'’.-]*|[0-9]+(?:st|nd|rd|th))\s+){1,4}"  # "North Oak", "5th"
            rf"(?:{_SUFFIX})\b\.?"
            r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"  # "Avenue NW"
            rf"(?:,?\s+{_UNIT}\b)?",  # ", Apt 4" / " Suite 200"
            0.7,
        ),
        # A unit line on its own ("Apt. 914", "Suite 593"): part of an address wherever it is.
        (
            "unit_line",
            r"(?=[AFSU])\b(?:Apt|APT|Apartment|Suite|SUITE|Ste|Unit|Flat)\.?\s*\#?\s*[0-9]{1,5}[A-Z]?\b",
            0.5,
        ),
    )
    CONTEXT = ("address", "live", "reside", "home", "street", "addr")
