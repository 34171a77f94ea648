"""Invented names, places, organisations and notes for the demo donors.

Names mix origins and include accents, an apostrophe and a hyphen, so that the demo
exercises UTF-8 handling. Towns are invented, but states, provinces and area codes
are real so that addresses look familiar.
"""

from __future__ import annotations

from typing import NamedTuple

EMAIL_DOMAINS = ("example.org", "example.com", "example.net")


def words(text: str) -> list[str]:
    return text.split()


FEMALE_NAMES = words(
    """
Ana Margaret Elizabeth Katherine Patricia Susan Linda Barbara Nicole
Julia Maria Grace Hannah Priya Mei Aisha Fatima Olivia Emma Sofia Chloe Rosa Ingrid
Lucía Zoë Naomi Ruth Helen Joan Diane Carmen Yuki Leila Amara Beatriz Nadia Irene
Claire Theresa Dolores Gwen Harriet
"""
)
MALE_NAMES = words(
    """
Luis William Robert James Richard Thomas Michael David Joseph Daniel
Samuel Frank Anthony Charles Edward Kenji Omar Rahul Mateo José Andre Victor Hugo
Arjun Tobias Felix Gregory Walter Raymond Dmitri Kwame Lars Emeka Paul Martin Henry
Oscar Isaac Nathan Wei
"""
)
NEUTRAL_NAMES = words("Alex Jordan Taylor Sam Robin Casey Morgan Jamie Avery Quinn")
NICKNAMES = {
    "William": "Bill",
    "Robert": "Bob",
    "Richard": "Rick",
    "James": "Jim",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Margaret": "Peggy",
    "Patricia": "Pat",
    "Anthony": "Tony",
    "Theresa": "Terry",
    "Edward": "Ted",
    "Charles": "Chuck",
}
LAST_NAMES = words(
    """
Ortega Chapman Morrison Wang Okafor Lindqvist Haddad Nakamura Patel
Fernández Kowalski O'Brien Nguyen Abernathy Delacroix Brennan Castillo Yamamoto
Osei Petrov Goldberg Rahman Sørensen Whitaker Mbeki Ferreira Kaplan Novak Quintero
Adeyemi Hollis Barros Larsen Chen Duarte Iyer Mendoza Fitzgerald Szabo Achebe Park
Moreau Vance Ibáñez Kim Thornton Ramirez Hughes Albright Eriksen Tanaka Greer
Santos Weller Farouk Mills Dubois Carver Rossi Jablonski Nakashima Oduya Pruitt
Valdez Ashford Kerrigan Bianchi Lowell Marchetti Sandoval Holt Vasquez Lund Baptiste
Coleman Drummond Ellery Fonseca Garrity Halvorsen Ingram Jovanović Keller Lacroix
Madsen Nolan Okonkwo Pereira Quill Reyes Strand Truong Underwood Villanueva Wexler
Xiong Yilmaz Zamora Smith-Jones Ahn Bergström Cruz Dunn Estrada Foley Gupta Hale
"""
)
STREETS = words(
    """
Alder Birch Cedar Dogwood Elm Foxglove Granite Harbor Iris Juniper
Kestrel Laurel Maple Northgate Orchard Pine Quarry Ridge Sycamore Tamarack Upland
Valley Willow Yarrow
"""
)
STREET_KINDS = ["Street", "Avenue", "Lane", "Road", "Court", "Drive", "Way", "Place"]


class City(NamedTuple):
    """An invented town with a real state or province and a plausible postcode."""

    name: str
    state: str
    postal_prefix: str
    area_code: str
    country: str = "United States"


CITIES = [
    City("Alder Springs", "CA", "949", "415"),
    City("Bramblewood", "CA", "945", "510"),
    City("Port Wren", "CA", "950", "831"),
    City("Millbrook Falls", "OR", "972", "503"),
    City("Cedar Hollow", "OR", "974", "541"),
    City("Larkfield", "WA", "981", "206"),
    City("North Ferris", "WA", "982", "425"),
    City("Stonebridge", "NY", "125", "845"),
    City("East Calloway", "NY", "130", "315"),
    City("Marigold", "TX", "787", "512"),
    City("Dunmore Flats", "TX", "761", "817"),
    City("Pelham Ridge", "IL", "606", "312"),
    City("Quarry Bend", "MN", "553", "612"),
    City("Hollins Mill", "MA", "017", "508"),
    City("Saltmarsh", "ME", "041", "207"),
    City("Juniper Vale", "CO", "804", "303"),
    City("Copper Lake", "AZ", "857", "520"),
    City("Wexford Green", "NC", "275", "919"),
]
CANADIAN_CITIES = [
    City("Port Alder", "BC", "V8X", "250", "Canada"),
    City("Lac-Sainte-Aurore", "QC", "J0T", "819", "Canada"),
]

FOUNDATIONS = [
    "Hartwell Family Foundation",
    "Greenway Community Trust",
    "Beacon Hill Foundation",
    "The Osei-Marlow Fund",
    "Riverbend Community Foundation",
    "Lamplighter Trust",
]
BUSINESSES = [
    "Copper Kettle Bakery",
    "Northgate Credit Union",
    "Alder & Finch Law Group",
    "Brightline Solar",
    "Marigold Dental Care",
    "Quarry Bend Hardware",
    "Saltmarsh Books & Coffee",
    "Pelham Ridge Veterinary Clinic",
]
CHURCHES = [
    "St. Brendan's Parish",
    "First Unitarian Church of Larkfield",
    "Grace Lutheran Church",
    "Temple Beth Shalom",
    "Hollins Mill Friends Meeting",
]
ORGANISATION_NOTES = {
    "foundation": [
        "Grant cycle opens each March; the report is due 30 days after year end.",
        "Funds the youth program only; no general operating support.",
        "Program officer prefers a short email update each quarter.",
    ],
    "business": [
        "Sponsors the gala each year; logo goes on the program.",
        "Matches employee gifts up to $1,000 a year.",
        "Owner volunteers at the food pantry on Saturdays.",
    ],
    "church": [
        "Mission committee approves gifts each January.",
        "Collects canned food for the pantry every November.",
    ],
}
# Notes that fit an individual or a household. {their} and {them} become the
# donor's pronouns.
PERSON_NOTES = [
    "Gave in memory of {their} mother.",
    "Met at the 2025 gala; interested in the youth program.",
    "Prefers letters to email.",
    "Employer matches gifts; remind {them} to send the matching form.",
    "Declined the capital campaign in 2023; do not ask again.",
    "Prefers Spanish for written communication.",
    "Gives through a donor-advised fund.",
    "Asks to be listed as anonymous in the annual report.",
    "Moved out of state in 2024 but still follows our news.",
    "Allergic to shellfish; note it on gala seating.",
]
# Notes that fit only an individual.
INDIVIDUAL_NOTES = [
    "Retired teacher; volunteers at the Saturday food pantry.",
    "Spouse died in 2025; send no appeals before spring.",
    "Former scholarship recipient (class of 2012).",
]
DO_NOT_CONTACT_NOTES = [
    "Asked in 2025 to receive no further appeals of any kind.",
    "Asked for no mail or calls after a death in the family in 2025.",
    "Unsubscribed from everything; keep for gift records only.",
]
PRONOUNS = {
    "female": {"their": "her", "them": "her"},
    "male": {"their": "his", "them": "him"},
    "neutral": {"their": "their", "them": "them"},
}
