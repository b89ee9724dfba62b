"""What the demo population is drawn from: roles and their teams, time zones, names, and the
demo courses with their modules."""

from __future__ import annotations

from dataclasses import dataclass

TEAMS = {
    "Sales": ["EMEA", "North America", "APAC"],
    "Support": ["Tier 1", "Tier 2", "Enterprise"],
    "Engineering": ["Platform", "Mobile", "Data"],
    "Operations": ["Logistics", "Facilities"],
    "Finance": ["Accounting", "Controlling"],
    "Marketing": ["Brand", "Growth"],
    "People": ["Recruiting", "L&D"],
}
# (time zone, locale, weight): most staff in the head-office zones, a tail elsewhere.
ZONES = [
    ("Europe/Berlin", "de", 30),
    ("America/New_York", "en", 20),
    ("Europe/London", "en-GB", 15),
    ("Asia/Tokyo", "ja", 10),
    ("UTC", "en", 8),
    ("America/Los_Angeles", "en", 7),
    ("Asia/Kolkata", "en-IN", 5),
    ("Australia/Sydney", "en-AU", 5),
]
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chiara",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Aiko",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Emma",
    "Felix",
]
LAST_NAMES = [
    "Schmidt",
    "Johnson",
    "Rossi",
    "Tanaka",
    "Yilmaz",
    "Haddad",
    "Nowak",
    "Garcia",
    "Müller",
    "Okafor",
    "Larsen",
    "Dubois",
    "Kim",
    "Patel",
    "Silva",
    "Novak",
    "Fischer",
    "Brown",
    "Sato",
    "Costa",
    "Weber",
    "Nguyen",
    "Andersen",
    "Moreau",
    "Kowalski",
    "Ito",
]


@dataclass(frozen=True)
class DemoCourse:
    external_id: str
    title: str
    course_type: str
    slug: str
    modules: tuple[str, ...]
    minutes_per_module: int


COURSES = [
    DemoCourse(
        "DEMO-C01",
        "Data Protection Essentials (GDPR)",
        "compliance",
        "gdpr-essentials",
        (
            "What counts as personal data",
            "Lawful bases",
            "Handling personal data",
            "Breach response",
            "Final assessment",
        ),
        12,
    ),
    DemoCourse(
        "DEMO-C02",
        "Information Security Awareness",
        "compliance",
        "infosec-awareness",
        ("Phishing", "Passwords and MFA", "Working remotely", "Reporting incidents"),
        10,
    ),
    DemoCourse(
        "DEMO-C03",
        "Anti-Bribery and Corruption",
        "compliance",
        "anti-bribery",
        ("Gifts and hospitality", "Third parties", "Speaking up"),
        15,
    ),
    DemoCourse(
        "DEMO-C04",
        "Welcome to the Company",
        "onboarding",
        "welcome",
        ("Our story", "How we work", "Your first 30 days", "Benefits and tools"),
        8,
    ),
    DemoCourse(
        "DEMO-C05",
        "Tools and Systems Onboarding",
        "onboarding",
        "tools-onboarding",
        ("Single sign-on", "Expenses", "Ticketing", "Knowledge base"),
        6,
    ),
    DemoCourse(
        "DEMO-C06",
        "Negotiation Skills",
        "elective",
        "negotiation",
        ("Preparing", "Anchoring", "Handling objections", "Closing", "Role play"),
        20,
    ),
    DemoCourse(
        "DEMO-C07",
        "Giving and Receiving Feedback",
        "elective",
        "feedback",
        ("Why feedback fails", "The SBI model", "Hard conversations"),
        15,
    ),
    DemoCourse(
        "DEMO-C08",
        "Python for Analysts",
        "elective",
        "python-analysts",
        ("Notebooks", "Pandas basics", "Cleaning data", "Charts", "Automating reports"),
        25,
    ),
    DemoCourse(
        "DEMO-C09",
        "Leadership Accelerator (Cohort 12)",
        "cohort",
        "leadership-cohort-12",
        ("Leading yourself", "Leading others", "Coaching", "Strategy", "Capstone"),
        45,
    ),
    DemoCourse(
        "DEMO-C10",
        "Customer Success Academy",
        "cohort",
        "cs-academy",
        ("Onboarding customers", "Health scores", "Renewals", "Expansion"),
        30,
    ),
]
LMS_URL = "https://lms.example.com"
# One learner in this many leads a small team (and is a manager who is also a learner).
MANAGER_EVERY = 10
