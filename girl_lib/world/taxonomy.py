"""The occupation taxonomy of the synthetic recruiting world, as plain Python data.

Everything the world generator, the text renderers and the oracle parser know comes from here:

- ``SKILLS`` (defined in :mod:`.skills`): about 100 skills. Each has a *JD name* (how a job ad asks
  for it, "data visualisation"), *aliases* (phrases that name the skill), *tools* (concrete tools,
  methods or artefacts a CV mentions, "Tableau") and *CV templates* (achievements that show the skill
  through a tool, never by its name).
  This is the semantic gap by design: a CV says "built Tableau dashboards for the sales team", a JD says
  "Requirements: data visualisation (Tableau/Power BI)"; only the taxonomy links the two.
- ``OCCUPATIONS``: 65 occupations in 11 industries, each with titles, core and optional skills,
  responsibilities, typical education and a mid-level salary. Related occupations share skills, so a
  mismatch can be subtle (a data analyst is not quite a data scientist).
- Seniority levels, salary multipliers, education levels, cities, company types and industry words.

Every keyword (alias or tool) names exactly one skill; ``check_taxonomy`` verifies that and the tests call it.

One file on purpose (~600 lines): it is a data table (65 occupations), read top to bottom like a spreadsheet;
splitting it by industry would only scatter the rows ``check_taxonomy`` compares with each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .skills import SKILLS, Skill  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Occupation:
    """One occupation of the taxonomy (skills are keys of ``SKILLS``)."""

    key: str
    industry: str
    titles: tuple
    core: tuple
    optional: tuple
    duties: tuple  # responsibilities, written without skill keywords
    education: int  # typical level, index into EDUCATION_LEVELS
    fields: tuple  # fields of study
    salary_k: int  # mid-level annual salary in thousands of dollars
    portable: bool = False  # also hired outside its home industry

    def __post_init__(self):  # the table below writes lists; an occupation holds tuples (hashable, immutable)
        for name in ("titles", "core", "optional", "duties", "fields"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class Industry:
    key: str
    label: str
    adjectives: tuple  # "fintech" in "a fintech startup": how company descriptors name the industry
    about: tuple  # "About us:" sentences
    pay: float  # salary multiplier


@dataclass(frozen=True)
class City:
    name: str
    state: str
    pay: float
    weight: float


SENIORITY = ("junior", "mid", "senior", "lead")
"""Seniority levels 0..3."""
LEVEL_PREFIXES = (("Junior", "Graduate", "Entry-level"), ("",), ("Senior",), ("Lead",))
"""Title prefixes per level (mid-level titles have none)."""
TECHNICAL_INDUSTRIES = ("tech", "manufacturing", "construction")
"""Where lead titles may also read "Principal ..."."""
LEVEL_MIN_YEARS = (0, 3, 6, 10)
"""Years of experience at which each level starts; see :func:`level_from_years`."""
LEVEL_PAY = (0.75, 1.0, 1.3, 1.65)
"""Salary multiplier per level, relative to the occupation's mid-level salary."""
EDUCATION_LEVELS = ("high school or vocational", "bachelor", "master", "doctorate")
"""Education levels 0..3."""
CURRENT_YEAR = 2023
"""The year the paper's data was collected; CV date ranges end here ("present")."""


def level_from_years(years: float) -> int:
    """Seniority level for years of experience: 0-2 junior, 3-5 mid, 6-9 senior, 10+ lead."""
    level = 0
    for lvl, start in enumerate(LEVEL_MIN_YEARS):
        if years >= start:
            level = lvl
    return level


COMPANY_TYPES = ("startup", "corporation", "agency", "public", "nonprofit")
"""Kinds of employer; each job's recruiter secretly prefers candidates who worked at one kind."""
TYPE_NOUNS = {
    "startup": ("startup", "scale-up"),
    "corporation": ("corporation", "group", "enterprise"),
    "agency": ("agency", "consultancy", "firm"),
    "public": ("public authority", "public agency"),
    "nonprofit": ("non-profit", "charity"),
}
GENERIC_COMPANY_NOUNS = ("company", "business", "organisation", "organization", "employer", "provider",
                         "chain", "network", "brand", "operator", "team")
"""Nouns that follow an industry word in free text ("a fintech company") without naming a company type."""

CITIES = (
    City("New York", "NY", 1.20, 1.6), City("San Diego", "CA", 1.10, 0.8), City("Seattle", "WA", 1.15, 1.0),
    City("Boston", "MA", 1.12, 1.0), City("Chicago", "IL", 1.02, 1.3), City("Denver", "CO", 1.00, 0.9),
    City("Atlanta", "GA", 0.95, 1.0), City("Miami", "FL", 0.97, 0.8), City("Phoenix", "AZ", 0.93, 0.8),
    City("Minneapolis", "MN", 0.96, 0.7), City("Portland", "OR", 1.00, 0.7), City("Dallas", "TX", 0.98, 1.2),
)

INDUSTRIES = {
    "tech": Industry("tech", "technology", ("software", "SaaS", "tech"), (
        "We build software that small teams rely on every day.",
        "Our product helps thousands of businesses run their operations online.",
        "We are a product company with a friendly, flexible culture.",
    ), 1.08),
    "finance": Industry("finance", "finance", ("fintech", "banking", "insurance"), (
        "We help families and small firms manage money with confidence.",
        "We are a regulated lender serving customers across the country.",
        "Our teams look after savings, loans and insurance for our members.",
    ), 1.08),
    "healthcare": Industry("healthcare", "healthcare", ("healthcare", "hospital", "medical"), (
        "We run clinics that care for patients of all ages.",
        "Our teams deliver safe, compassionate care in the community.",
        "We are a growing network of outpatient centres.",
    ), 1.0),
    "retail": Industry("retail", "retail and e-commerce", ("retail", "e-commerce", "fashion"), (
        "We sell everyday products in stores and online.",
        "Our shops serve busy neighbourhoods from early morning until late.",
        "We are a fast-growing brand with loyal customers.",
    ), 0.92),
    "manufacturing": Industry("manufacturing", "manufacturing", ("manufacturing", "industrial", "automotive"), (
        "We design and make parts for customers around the world.",
        "Our plant runs three shifts and ships every day.",
        "We are a family-owned maker proud of our craft.",
    ), 1.0),
    "media": Industry("media", "marketing and media", ("media", "advertising", "publishing"), (
        "We tell stories for brands people love.",
        "Our creative teams launch campaigns across every channel.",
        "We publish content read by millions each month.",
    ), 0.97),
    "education": Industry("education", "education", ("education", "edtech", "school"), (
        "We help learners of every background reach their goals.",
        "Our schools serve a diverse and lively community.",
        "We build courses that make learning stick.",
    ), 0.88),
    "logistics": Industry("logistics", "logistics", ("logistics", "freight", "shipping"), (
        "We move goods for retailers and manufacturers nationwide.",
        "Our depots keep shelves stocked around the clock.",
        "We run a modern delivery network that never sleeps.",
    ), 0.95),
    "construction": Industry("construction", "construction and real estate", ("construction", "property",
                                                                               "homebuilding"), (
        "We build homes, schools and offices for growing cities.",
        "Our projects range from small renovations to large towers.",
        "We are a builder known for finishing on time.",
    ), 1.0),
    "hospitality": Industry("hospitality", "hospitality", ("hospitality", "hotel", "restaurant"), (
        "We welcome guests in our hotels and restaurants every day.",
        "Our venues host travellers, families and celebrations.",
        "We are a hospitality group that puts guests first.",
    ), 0.88),
    "services": Industry("services", "professional services", ("staffing", "legal services",
                                                                "professional services"), (
        "We advise clients on their toughest people and business questions.",
        "Our consultants partner with organisations of every size.",
        "We are a trusted partner for growing companies.",
    ), 1.05),
}


OCCUPATIONS = (
    # --- tech
    Occupation("backend_engineer", "tech", ["Backend Engineer", "Software Engineer", "Software Developer"],
       ["backend", "sql", "cloud", "cicd", "containers"], ["java", "monitoring", "testing", "dataeng"],
       ["Design and maintain the services behind our apps", "Review code and mentor teammates",
        "Keep systems fast, safe and reliable", "Work with product managers on new features"],
       1, ["Computer Science", "Software Engineering", "Mathematics"], 115, True),
    Occupation("frontend_developer", "tech", ["Frontend Developer", "Front-End Engineer", "Web Developer"],
       ["frontend", "typescript", "testing", "cicd"], ["uidesign", "uxresearch", "webanalytics", "agile"],
       ["Build the screens our customers use every day", "Turn designs into accessible pages",
        "Improve page speed and reliability", "Pair with designers on new flows"],
       1, ["Computer Science", "Web Design", "Information Systems"], 105, True),
    Occupation("data_scientist", "tech", ["Data Scientist", "Applied Scientist", "Decision Scientist"],
       ["ml", "python_data", "stats", "sql"], ["dataeng", "dataviz", "cloud", "excel"],
       ["Build models that shape pricing and growth", "Explain findings to business leaders",
        "Design experiments with product teams", "Put models into production with engineers"],
       2, ["Statistics", "Computer Science", "Physics"], 125, True),
    Occupation("data_analyst", "tech", ["Data Analyst", "BI Analyst", "Reporting Analyst"],
       ["sql", "dataviz", "excel", "python_data"], ["stats", "webanalytics", "dataeng", "stakeholder"],
       ["Turn raw numbers into clear weekly insights", "Answer ad-hoc questions from managers",
        "Own key metrics and their definitions", "Spot trends and flag risks early"],
       1, ["Economics", "Statistics", "Business"], 80, True),
    Occupation("devops_engineer", "tech", ["DevOps Engineer", "Site Reliability Engineer", "Platform Engineer"],
       ["cloud", "containers", "cicd", "linux", "monitoring"], ["security", "backend", "networking"],
       ["Keep our platform up and running", "Automate releases and routine chores",
        "Lead the response when things break", "Help developers ship safely"],
       1, ["Computer Science", "Information Technology"], 120, True),
    Occupation("qa_engineer", "tech", ["QA Engineer", "Test Engineer", "Software Tester"],
       ["testing", "agile", "sql", "cicd"], ["typescript", "backend", "monitoring"],
       ["Plan and run checks for every release", "Report defects clearly and follow them up",
        "Guard product quality with developers", "Improve how the team ships"],
       1, ["Computer Science", "Information Systems"], 90),
    Occupation("product_manager", "tech", ["Product Manager", "Product Owner"],
       ["product", "agile", "stakeholder", "stats"], ["uxresearch", "webanalytics", "sql", "pnl"],
       ["Decide what the team builds next and why", "Talk to customers every week",
        "Write clear specs and success measures", "Align engineering, design and sales"],
       1, ["Business", "Computer Science", "Economics"], 120, True),
    Occupation("ux_designer", "tech", ["UX Designer", "Product Designer", "UI/UX Designer"],
       ["uxresearch", "uidesign", "stakeholder"], ["frontend", "graphic", "webanalytics"],
       ["Shape simple, friendly customer journeys", "Test ideas with real users",
        "Work closely with engineers and product managers", "Keep our design language consistent"],
       1, ["Design", "Psychology", "Human-Computer Interaction"], 100, True),
    Occupation("it_support", "tech", ["IT Support Specialist", "Service Desk Analyst", "Desktop Support Technician"],
       ["helpdesk", "networking", "security"], ["linux", "cloud", "custsupport"],
       ["Help colleagues with laptops, phones and accounts", "Keep office equipment working",
        "Write simple guides for common issues", "Order and track hardware"],
       0, ["Information Technology", "Network Technology"], 58, True),
    Occupation("security_analyst", "tech", ["Security Analyst", "SOC Analyst", "Security Engineer"],
       ["security", "networking", "monitoring", "linux"], ["cloud", "compliance", "helpdesk"],
       ["Watch for threats and respond quickly", "Review access and harden systems",
        "Run drills and teach staff safe habits", "Work with auditors and vendors"],
       1, ["Computer Science", "Information Technology"], 110, True),
    # --- finance
    Occupation("accountant", "finance", ["Accountant", "Staff Accountant", "General Ledger Accountant"],
       ["bookkeeping", "finreporting", "erp", "excel", "tax"], ["audit", "payroll", "fpa"],
       ["Keep the books accurate and on time", "Prepare monthly accounts", "Support the yearly review",
        "Answer finance questions from managers"],
       1, ["Accounting", "Finance"], 75, True),
    Occupation("financial_analyst", "finance", ["Financial Analyst", "Finance Analyst", "Planning Analyst"],
       ["fpa", "excel", "valuation", "finreporting"], ["sql", "dataviz", "erp", "stakeholder"],
       ["Build plans and explain variances", "Support investment decisions",
        "Prepare board and investor packs", "Partner with department heads on spend"],
       1, ["Finance", "Economics", "Accounting"], 90, True),
    Occupation("auditor", "finance", ["Auditor", "Internal Auditor", "Assurance Associate"],
       ["audit", "finreporting", "excel", "compliance"], ["erp", "risk", "bookkeeping"],
       ["Plan and carry out reviews of key processes", "Report findings to senior leaders",
        "Follow up on agreed actions", "Help teams strengthen how they work"],
       1, ["Accounting", "Finance"], 85),
    Occupation("loan_officer", "finance", ["Loan Officer", "Credit Officer", "Lending Officer"],
       ["credit", "sales", "compliance", "excel"], ["risk", "crm", "custsupport"],
       ["Meet applicants and understand their needs", "Recommend loan decisions",
        "Keep files complete and accurate", "Grow a healthy book of clients"],
       1, ["Finance", "Business"], 70),
    Occupation("risk_analyst", "finance", ["Risk Analyst", "Credit Risk Analyst", "Market Risk Analyst"],
       ["risk", "stats", "sql", "excel", "python_data"], ["credit", "compliance", "ml", "dataviz"],
       ["Measure and report the firm's exposures", "Challenge assumptions behind limits",
        "Explain results to the risk committee", "Improve models with the data team"],
       2, ["Finance", "Mathematics", "Economics"], 100),
    Occupation("payroll_specialist", "finance", ["Payroll Specialist", "Payroll Administrator"],
       ["payroll", "bookkeeping", "excel", "hrops"], ["tax", "erp", "compliance"],
       ["Pay everyone correctly and on time", "Answer pay questions from staff",
        "Handle starters, leavers and changes", "Prepare year-end filings"],
       0, ["Accounting", "Business Administration"], 60, True),
    Occupation("compliance_officer", "finance", ["Compliance Officer", "Compliance Analyst", "Financial Crime Analyst"],
       ["compliance", "risk", "audit", "stakeholder"], ["legal", "sql", "excel"],
       ["Keep the firm within the rules", "Review unusual activity and escalate",
        "Train colleagues on policy", "Liaise with regulators"],
       1, ["Law", "Finance"], 90),
    # --- healthcare
    Occupation("registered_nurse", "healthcare", ["Registered Nurse", "Staff Nurse", "Charge Nurse"],
       ["patientcare", "medication", "ehr", "infection", "procedures"], ["leadership", "clinicalops", "training"],
       ["Provide safe, kind care on the ward", "Work with doctors and therapists",
        "Support patients and families", "Hand over clearly between shifts"],
       1, ["Nursing"], 80),
    Occupation("medical_assistant", "healthcare", ["Medical Assistant", "Clinical Assistant", "Healthcare Assistant"],
       ["procedures", "patientcare", "ehr", "clinicalops"], ["infection", "custsupport", "medication"],
       ["Prepare rooms and greet patients", "Support doctors during visits",
        "Keep supplies stocked", "Answer patient questions by phone"],
       0, ["Medical Assisting", "Health Care"], 42),
    Occupation("pharmacist", "healthcare", ["Pharmacist", "Clinical Pharmacist", "Community Pharmacist"],
       ["dispensing", "medication", "ehr", "patientcare"], ["leadership", "inventory", "clinicalops"],
       ["Make sure every patient gets the right medicine", "Advise doctors and nurses",
        "Supervise pharmacy technicians", "Run health checks for the community"],
       3, ["Pharmacy"], 125),
    Occupation("physiotherapist", "healthcare", ["Physiotherapist", "Physical Therapist", "Sports Therapist"],
       ["rehab", "patientcare", "ehr"], ["training", "clinicalops", "procedures"],
       ["Help patients move and feel better", "Set goals with each patient",
        "Work with surgeons and nurses", "Run group classes"],
       2, ["Physical Therapy", "Sports Science"], 85),
    Occupation("healthcare_admin", "healthcare", ["Healthcare Administrator", "Practice Manager", "Clinic Manager"],
       ["clinicalops", "ehr", "leadership", "pnl"], ["stakeholder", "excel", "compliance", "hrops"],
       ["Run the daily life of the clinic", "Look after staff and schedules",
        "Keep patients happy and waits short", "Report to the regional director"],
       1, ["Health Administration", "Business"], 85),
    Occupation("lab_technician", "healthcare", ["Laboratory Technician", "Lab Technician", "Medical Lab Scientist"],
       ["procedures", "qc", "infection", "ehr"], ["stats", "inventory"],
       ["Process samples quickly and accurately", "Keep equipment calibrated",
        "Record results carefully", "Support the pathology team"],
       1, ["Biology", "Biomedical Science"], 55),
    # --- retail
    Occupation("store_manager", "retail", ["Store Manager", "Shop Manager", "Retail Manager"],
       ["leadership", "pnl", "inventory", "pos", "merch"], ["custsupport", "hrops", "training"],
       ["Run a busy store from open to close", "Hire and develop the team",
        "Hit sales targets and keep costs down", "Give customers a great visit"],
       0, ["Business", "Retail Management"], 65),
    Occupation("sales_associate", "retail", ["Sales Associate", "Retail Assistant", "Sales Advisor"],
       ["pos", "custsupport", "merch"], ["inventory", "ecommerce", "social"],
       ["Welcome customers and help them choose", "Keep the shop floor tidy",
        "Process returns and exchanges", "Support deliveries"],
       0, ["Business", "Retail Management"], 35),
    Occupation("merchandiser", "retail", ["Merchandiser", "Visual Merchandiser", "Merchandise Planner"],
       ["merch", "inventory", "excel", "stakeholder"], ["ecommerce", "pnl", "graphic"],
       ["Plan how ranges appear in stores", "Visit shops and coach teams",
        "Track what sells and adjust", "Work with buyers on launches"],
       1, ["Fashion Business", "Marketing"], 55),
    Occupation("ecommerce_manager", "retail",
               ["E-commerce Manager", "Online Store Manager", "Digital Commerce Manager"],
       ["ecommerce", "webanalytics", "paidads", "crm", "seo"], ["pnl", "inventory", "agile"],
       ["Grow online sales month after month", "Own the online customer journey",
        "Plan promotions with marketing", "Manage agencies and partners"],
       1, ["Marketing", "Business"], 90),
    Occupation("customer_service_rep", "retail", ["Customer Service Representative", "Support Agent",
                                          "Customer Care Advisor"],
       ["custsupport", "crm", "excel"], ["sales", "training", "pos"],
       ["Help customers by phone, email and chat", "Solve problems at the first contact",
        "Log feedback for other teams", "Meet service targets"],
       0, ["Business", "Communications"], 40, True),
    Occupation("category_buyer", "retail", ["Buyer", "Category Buyer", "Retail Buyer"],
       ["procurement", "contracts", "inventory", "excel"], ["pnl", "dataviz", "customs"],
       ["Choose the ranges our customers want", "Agree prices and terms with suppliers",
        "Watch margins and stock levels", "Plan seasonal launches"],
       1, ["Business", "Fashion Business"], 75),
    # --- manufacturing
    Occupation("mechanical_engineer", "manufacturing", ["Mechanical Engineer", "Design Engineer", "Product Engineer"],
       ["cad", "fea", "qc", "lean"], ["pm", "maintenance", "machining"],
       ["Design new parts and improve old ones", "Support the shop floor with fixes",
        "Test prototypes and document results", "Work with suppliers on tooling"],
       1, ["Mechanical Engineering"], 95),
    Occupation("production_supervisor", "manufacturing", ["Production Supervisor", "Shift Supervisor",
                                                  "Manufacturing Supervisor"],
       ["leadership", "lean", "hse", "prodplanning"], ["qc", "maintenance", "erp"],
       ["Run the shift safely and on plan", "Coach operators and track output",
        "Solve problems on the line", "Report daily results"],
       0, ["Industrial Technology", "Business"], 70),
    Occupation("quality_inspector", "manufacturing", ["Quality Inspector", "Quality Technician", "QC Inspector"],
       ["qc", "lean", "hse"], ["cad", "machining", "stats"],
       ["Check parts against drawings", "Record and report defects",
        "Support supplier reviews", "Keep measuring tools calibrated"],
       0, ["Industrial Technology", "Engineering Technology"], 52),
    Occupation("maintenance_technician", "manufacturing", ["Maintenance Technician", "Maintenance Engineer",
                                                   "Industrial Mechanic"],
       ["maintenance", "hse", "electrical"], ["machining", "lean", "cad"],
       ["Keep machines running across shifts", "Respond to breakdowns fast",
        "Install and commission new equipment", "Keep spare parts organised"],
       0, ["Industrial Maintenance", "Mechatronics"], 60),
    Occupation("supply_planner", "manufacturing", ["Supply Planner", "Production Planner", "Materials Planner"],
       ["prodplanning", "erp", "excel", "inventory"], ["procurement", "stats", "dataviz"],
       ["Match supply to demand week by week", "Agree plans with sales and the plant",
        "Chase late materials", "Keep stock healthy"],
       1, ["Supply Chain Management", "Business"], 75, True),
    Occupation("machinist", "manufacturing", ["Machinist", "Production Machinist", "Toolmaker"],
       ["machining", "qc", "hse", "cad"], ["maintenance", "lean"],
       ["Make precise parts from drawings", "Set up and adjust machines",
        "Check your own work carefully", "Keep the work area clean and safe"],
       0, ["Precision Machining", "Engineering Technology"], 55),
    # --- media
    Occupation("digital_marketer", "media", ["Digital Marketing Specialist", "Growth Marketer", "Performance Marketer"],
       ["paidads", "webanalytics", "seo", "crm"], ["copy", "social", "stats", "excel"],
       ["Plan and run campaigns that bring in customers", "Report results every week",
        "Test new channels and ideas", "Work with sales on lead quality"],
       1, ["Marketing", "Business"], 75, True),
    Occupation("content_writer", "media", ["Content Writer", "Copywriter", "Content Editor"],
       ["copy", "seo", "brand"], ["social", "webanalytics", "pr"],
       ["Write clear, lively pieces for our audience", "Edit work from freelancers",
        "Plan a content calendar", "Interview experts and customers"],
       1, ["English", "Journalism", "Communications"], 60, True),
    Occupation("graphic_designer", "media", ["Graphic Designer", "Visual Designer", "Brand Designer"],
       ["graphic", "brand", "uidesign"], ["video", "social", "copy"],
       ["Create visuals for print and digital", "Keep every piece on brand",
        "Present ideas to clients", "Prepare files for printers"],
       1, ["Visual Communication", "Fine Arts"], 62, True),
    Occupation("social_media_manager", "media", ["Social Media Manager", "Community Manager"],
       ["social", "copy", "webanalytics", "video"], ["paidads", "brand", "pr"],
       ["Run our channels day to day", "Talk with our community", "Spot trends early",
        "Report on reach and engagement"],
       1, ["Marketing", "Communications"], 62, True),
    Occupation("video_producer", "media", ["Video Producer", "Video Editor", "Motion Designer"],
       ["video", "brand", "graphic"], ["social", "copy", "pm"],
       ["Plan, shoot and finish short films", "Work with writers on scripts",
        "Deliver files for every platform", "Keep footage organised"],
       1, ["Film Studies", "Media Production"], 65),
    Occupation("pr_specialist", "media", ["PR Specialist", "Communications Officer", "Press Officer"],
       ["pr", "copy", "stakeholder", "social"], ["brand", "events"],
       ["Tell our story to journalists", "Prepare spokespeople for interviews",
        "Handle tricky questions calmly", "Track coverage and sentiment"],
       1, ["Communications", "Journalism"], 68, True),
    # --- education
    Occupation("teacher", "education", ["Teacher", "Secondary Teacher", "Maths Teacher"],
       ["lessons", "classroom", "assessment"], ["lms", "sen", "training"],
       ["Teach engaging lessons to mixed groups", "Support every pupil to progress",
        "Work with parents and colleagues", "Take part in school life"],
       1, ["Education", "Mathematics", "History"], 55),
    Occupation("instructional_designer", "education", ["Instructional Designer", "Learning Designer",
                                               "E-learning Developer"],
       ["idesign", "lms", "video", "stakeholder"], ["graphic", "training", "assessment"],
       ["Design courses people actually finish", "Work with subject experts",
        "Measure what learners take away", "Keep content current"],
       2, ["Education", "Learning Sciences"], 75, True),
    Occupation("academic_advisor", "education", ["Academic Advisor", "Student Advisor", "Career Counsellor"],
       ["advising", "crm", "training"], ["lms", "sen", "events"],
       ["Guide students through their studies", "Spot students who need extra help",
        "Run drop-in hours and workshops", "Keep careful notes"],
       2, ["Counselling", "Education"], 52),
    Occupation("teaching_assistant", "education", ["Teaching Assistant", "Learning Support Assistant",
                                           "Classroom Assistant"],
       ["sen", "classroom", "assessment"], ["lessons", "lms"],
       ["Support pupils one to one and in groups", "Help the teacher prepare materials",
        "Supervise breaks and trips", "Share notes on pupil progress"],
       0, ["Childcare", "Education"], 32),
    # --- logistics
    Occupation("warehouse_supervisor", "logistics", ["Warehouse Supervisor", "Warehouse Team Leader",
                                             "Distribution Supervisor"],
       ["wms", "leadership", "forklift", "hse", "inventory"], ["lean", "transport"],
       ["Run the warehouse shift on time", "Keep the team safe and motivated",
        "Hit picking and packing targets", "Report daily performance"],
       0, ["Logistics", "Business"], 58),
    Occupation("logistics_coordinator", "logistics", ["Logistics Coordinator", "Shipping Coordinator",
                                              "Freight Coordinator"],
       ["transport", "customs", "excel", "custsupport"], ["wms", "erp", "contracts"],
       ["Book and track shipments", "Keep customers informed", "Solve delays quickly",
        "Work with carriers and brokers"],
       1, ["Logistics", "International Business"], 55, True),
    Occupation("truck_driver", "logistics", ["Truck Driver", "Delivery Driver", "HGV Driver"],
       ["driving", "hse"], ["forklift", "fleet", "custsupport"],
       ["Deliver goods safely and on time", "Check your vehicle every day",
        "Load and secure cargo", "Be friendly with customers"],
       0, ["Transport Studies"], 52),
    Occupation("procurement_specialist", "logistics", ["Procurement Specialist", "Purchasing Specialist",
                                               "Sourcing Specialist"],
       ["procurement", "contracts", "erp", "excel"], ["customs", "stakeholder", "pnl"],
       ["Buy goods and services at the right price", "Build strong supplier relationships",
        "Track savings and delivery", "Support new product launches"],
       1, ["Supply Chain Management", "Business"], 78, True),
    Occupation("fleet_manager", "logistics", ["Fleet Manager", "Transport Manager"],
       ["fleet", "transport", "pnl", "leadership"], ["hse", "driving", "contracts"],
       ["Keep the fleet safe, legal and busy", "Lead drivers and planners",
        "Control running costs", "Plan vehicle replacement"],
       1, ["Logistics", "Business"], 72),
    # --- construction
    Occupation("civil_engineer", "construction", ["Civil Engineer", "Structural Engineer", "Site Engineer"],
       ["structural", "cad", "codes", "estimating"], ["bim", "pm", "fea"],
       ["Design safe, lasting structures", "Check drawings and calculations",
        "Visit sites to solve problems", "Work with architects and builders"],
       1, ["Civil Engineering"], 92),
    Occupation("site_manager", "construction", ["Site Manager", "Construction Manager", "Project Superintendent"],
       ["sitemgmt", "hse", "pm", "leadership"], ["estimating", "codes", "contracts"],
       ["Run the site day to day", "Keep the build on time and on budget",
        "Lead trades and crews", "Report progress to the client"],
       1, ["Construction Management", "Civil Engineering"], 95),
    Occupation("electrician", "construction", ["Electrician", "Electrical Technician", "Journeyman Electrician"],
       ["electrical", "hse", "codes"], ["maintenance", "sitemgmt"],
       ["Install and repair power and lighting", "Read plans and follow specs",
        "Find and fix faults", "Leave every job clean and safe"],
       0, ["Electrotechnical Studies", "Building Services"], 62),
    Occupation("quantity_surveyor", "construction", ["Quantity Surveyor", "Cost Estimator", "Estimator"],
       ["estimating", "contracts", "excel", "bim"], ["pm", "codes"],
       ["Price projects before we bid", "Track costs as the build goes",
        "Value changes and claims", "Advise the team on savings"],
       1, ["Building Economics", "Construction Management"], 80),
    Occupation("architect", "construction", ["Architect", "Project Architect", "Design Architect"],
       ["bim", "cad", "codes", "stakeholder"], ["structural", "pm", "graphic"],
       ["Design buildings people enjoy", "Lead a design from first drawing to handover",
        "Present schemes to clients", "Coordinate engineers and planners"],
       2, ["Architecture"], 95),
    # --- hospitality
    Occupation("chef", "hospitality", ["Chef", "Sous Chef", "Chef de Partie"],
       ["cooking", "foodsafety", "inventory", "leadership"], ["pnl", "events"],
       ["Cook great food every service", "Run a clean, calm kitchen", "Order and check deliveries",
        "Train junior cooks"],
       0, ["Culinary Arts"], 52),
    Occupation("front_desk_manager", "hospitality", ["Front Desk Manager", "Front Office Manager",
                                             "Guest Services Manager"],
       ["frontoffice", "guest", "leadership"], ["revenue", "custsupport", "training"],
       ["Run the front desk around the clock", "Welcome guests and solve problems",
        "Lead and schedule the desk team", "Work with housekeeping"],
       0, ["Hospitality Management"], 55),
    Occupation("event_planner", "hospitality", ["Event Planner", "Event Coordinator", "Conference Manager"],
       ["events", "contracts", "stakeholder", "pnl"], ["social", "pr", "guest"],
       ["Plan events from first call to final bill", "Work with venues and suppliers",
        "Run the day itself calmly", "Gather feedback afterwards"],
       1, ["Hospitality Management", "Marketing"], 60, True),
    Occupation("revenue_manager", "hospitality", ["Revenue Manager", "Pricing Analyst"],
       ["revenue", "excel", "dataviz", "stats"], ["sql", "pnl", "crm"],
       ["Set prices that fill rooms profitably", "Watch competitors and demand",
        "Advise sales and marketing", "Report weekly results"],
       1, ["Hospitality Management", "Economics"], 85),
    Occupation("restaurant_manager", "hospitality", ["Restaurant Manager", "Food and Beverage Manager"],
       ["leadership", "pnl", "foodsafety", "guest"], ["inventory", "cooking", "pos"],
       ["Run a busy restaurant every night", "Hire, train and schedule staff",
        "Keep guests coming back", "Control costs and waste"],
       0, ["Hospitality Management"], 60),
    # --- professional services
    Occupation("recruiter", "services", ["Recruiter", "Talent Partner", "Recruitment Consultant"],
       ["recruiting", "stakeholder", "crm"], ["hrops", "sales", "social"],
       ["Find and hire great people", "Advise hiring managers", "Give every candidate a fair process",
        "Report on hiring progress"],
       1, ["Psychology", "Business"], 70, True),
    Occupation("hr_generalist", "services", ["HR Generalist", "HR Business Partner", "People Partner"],
       ["hrops", "training", "stakeholder"], ["payroll", "recruiting", "legal"],
       ["Support managers on people matters", "Run the employee lifecycle",
        "Improve policies and practices", "Keep records accurate"],
       1, ["Human Resources", "Business"], 75, True),
    Occupation("paralegal", "services", ["Paralegal", "Legal Assistant"],
       ["legal", "contracts", "compliance"], ["pm", "custsupport"],
       ["Support lawyers on client matters", "Keep files and deadlines in order",
        "Prepare documents for review", "Liaise with courts and clients"],
       1, ["Law", "Paralegal Studies"], 60),
    Occupation("management_consultant", "services",
               ["Management Consultant", "Business Analyst", "Strategy Consultant"],
       ["consulting", "stakeholder", "excel", "pm"], ["sql", "dataviz", "fpa"],
       ["Help clients solve hard business problems", "Interview teams and map how work flows",
        "Present clear recommendations", "Support change after the plan"],
       2, ["Business", "Economics", "Engineering"], 110, True),
    Occupation("project_manager", "services", ["Project Manager", "Programme Manager", "Delivery Manager"],
       ["pm", "stakeholder", "agile", "pnl"], ["contracts", "consulting"],
       ["Deliver projects on time and on budget", "Keep everyone informed",
        "Manage risks and changes", "Lead mixed teams"],
       1, ["Business", "Engineering"], 100, True),
)

SKILL_INDEX = {s.key: i for i, s in enumerate(SKILLS)}
"""Skill key -> integer id (the id is what seekers and jobs store)."""
OCC_INDEX = {o.key: i for i, o in enumerate(OCCUPATIONS)}
CITY_NAMES = tuple(c.name for c in CITIES)


def skill_ids(keys) -> tuple:
    return tuple(SKILL_INDEX[k] for k in keys)


def related_occupations(occ_id: int) -> tuple:
    """Occupations sharing at least one core skill with ``occ_id``, most shared first (hard negatives)."""
    core = set(OCCUPATIONS[occ_id].core)
    scored = []
    for j, other in enumerate(OCCUPATIONS):
        if j == occ_id:
            continue
        shared = len(core & set(other.core)) + 0.5 * len(core & set(other.optional))
        if shared >= 1:
            scored.append((-shared, j))
    return tuple(j for _, j in sorted(scored))


RELATED = tuple(related_occupations(i) for i in range(len(OCCUPATIONS)))
"""``RELATED[occ_id]``: related occupations (shared skills), most similar first."""


def keyword_table() -> dict:
    """Lower-case keyword -> skill id, for every alias and tool."""
    table = {}
    for i, skill in enumerate(SKILLS):
        for kw in skill.aliases + skill.tools:
            table[kw.lower()] = i
    return table


def _trie_pattern(words) -> str:
    """A regex for ``words`` shaped as a character trie: one branch per next character, so matching
    costs about the keyword length instead of the number of keywords. Optional groups are greedy, so
    the longest keyword that ends at a word boundary wins."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return ("(?:" + body + ")?") if len(branches) == 1 else body + "?"
        return body

    return emit(trie)


def keyword_regex(keywords) -> re.Pattern:
    """One case-insensitive regex matching any keyword as a whole phrase (the longest that fits)."""
    words = sorted({k.lower() for k in keywords})
    return re.compile(r"(?<![\w])(" + _trie_pattern(words) + r")(?![\w])", re.IGNORECASE)


def check_taxonomy() -> None:
    """Raise ``ValueError`` if the taxonomy is inconsistent (duplicate keywords, unknown skill keys...)."""
    seen = {}
    for i, skill in enumerate(SKILLS):
        for kw in skill.aliases + skill.tools:
            low = kw.lower()
            if low in seen and seen[low] != i:
                raise ValueError(f"keyword {kw!r} names two skills: {SKILLS[seen[low]].key}, {skill.key}")
            seen[low] = i
        if not any(a.lower() in skill.name.lower() for a in skill.aliases):
            raise ValueError(f"skill {skill.key}: its JD name {skill.name!r} contains none of its aliases")
        if not all("{tool}" in t for t in skill.cv):
            raise ValueError(f"skill {skill.key}: every CV template needs a {{tool}} slot")
    if len(SKILL_INDEX) != len(SKILLS) or len(OCC_INDEX) != len(OCCUPATIONS):
        raise ValueError("duplicate skill or occupation keys")
    for occ in OCCUPATIONS:
        if occ.industry not in INDUSTRIES:
            raise ValueError(f"occupation {occ.key}: unknown industry {occ.industry!r}")
        for key in occ.core + occ.optional:
            if key not in SKILL_INDEX:
                raise ValueError(f"occupation {occ.key}: unknown skill {key!r}")
        if set(occ.core) & set(occ.optional):
            raise ValueError(f"occupation {occ.key}: a skill is both core and optional")
