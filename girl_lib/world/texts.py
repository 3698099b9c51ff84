"""CV and JD texts of the synthetic world: realistic layouts, varied phrasing, short on purpose.

A CV shows a person through past titles, employers, tools and achievements ("Built Tableau dashboards for
the sales team"); a JD asks for skills, years and education ("Requirements: - Data visualisation
(Tableau/Power BI)"). Several templates, synonyms and section orders keep the texts from being one
template. Lengths are kept small because a small LLM must generate JDs on 2 CPU cores:
CVs ``CV_WORDS`` (90-170 words), JDs ``JD_WORDS`` (45-90 words, ~110 SmolLM2 tokens: short enough that a
generator's whole JD, requirements and end-of-turn included, fits its token budget); the renderers add or
drop bullets until a text fits.

Every JD has the sections ``JD_SECTIONS`` (``Responsibilities:``, ``Requirements:``), optionally preceded
by ``About us:``; :func:`jd_format_ok` checks a (generated) text for them.
"""

from __future__ import annotations

import re

from . import taxonomy as T

JD_SECTIONS = ("Responsibilities:", "Requirements:")
"""The two sections every JD must have, exactly titled (format-compliance metric)."""
CV_WORDS = (90, 170)
"""Allowed CV length in words (inclusive)."""
JD_WORDS = (45, 90)
"""Allowed JD length in words (inclusive)."""

_HEADER = re.compile(r"^\s*[A-Z][A-Za-z &/'-]{1,40}:\s*$")
_TEAMS = ("sales", "finance", "operations", "marketing", "product", "service", "leadership", "regional")
_TRAITS = ("clear communication and steady delivery", "calm problem solving under pressure",
           "turning messy problems into simple routines", "reliable work and a positive attitude",
           "learning fast and sharing what I learn", "careful work and friendly teamwork")
_GENERIC_BULLETS = ("Covered extra shifts during the busiest season of the year",
                    "Welcomed new colleagues and showed them the ropes",
                    "Suggested a small process change that the whole team adopted",
                    "Received an award for going above and beyond for customers",
                    "Kept careful notes so handovers went smoothly",
                    "Volunteered for a cross-team improvement group")
_LANGUAGES = ("English, Spanish", "English, French (fluent)", "English, Portuguese", "English, Mandarin",
              "English, German (basic)", "English")
_INTERESTS = ("running, chess", "cooking, hiking", "photography, cycling", "volunteering, reading",
              "football, travel", "music, gardening")
_SOFT = ("teamwork", "time management", "attention to detail", "written communication", "adaptability")


def word_count(text: str) -> int:
    return len(text.split())


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _fill(template: str, tool: str, rng) -> str:
    return template.format(tool=tool, n=rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40)),
                           p=rng.choice((10, 12, 15, 18, 20, 25, 30, 35, 40)), team=rng.choice(_TEAMS))


# ---------------------------------------------------------------------------------------------- CV
def _degree(level: int, field: str, rng) -> str:
    options = {
        0: ("High school diploma", f"Vocational certificate in {field}", f"Diploma in {field}"),
        1: (f"B.Sc. in {field}", f"BA in {field}", f"Bachelor's degree in {field}"),
        2: (f"M.Sc. in {field}", f"Master's degree in {field}", f"MA in {field}"),
        3: (f"PhD in {field}", f"Doctorate in {field}", f"Doctor of {field}"),
    }[level]
    return rng.choice(options)


def _span(exp, rng) -> str:
    end = str(exp.end) if exp.end is not None else rng.choice(("present", "now", "present"))
    dash = rng.choice(("–", " - ", "–"))
    return f"{exp.start}{dash}{end}"


def _exp_header(exp, rng) -> str:
    span = _span(exp, rng)
    style = rng.randrange(3)
    if style == 0:
        return f"{exp.title}, {exp.company} ({exp.descriptor}), {span}"
    if style == 1:
        return f"{exp.title} at {exp.company}, a {exp.descriptor} ({span})"
    return f"{span}: {exp.title}, {exp.company} ({exp.descriptor})"


def _cv_bullets(seeker, rng) -> list[str]:
    """Achievement bullets: first one per skill (showing it through a tool), then a second round with the
    other template and another tool, then generic bullets that name no skill."""
    keys = list(seeker.skills)
    rng.shuffle(keys)
    pool = []
    for rnd in range(2):
        for key in (keys if rnd == 0 else keys[:4]):  # bullets beyond ~8 are never needed
            skill = T.SKILLS[T.SKILL_INDEX[key]]
            tool = seeker.tools[key] if rnd == 0 else rng.choice(skill.tools)
            pool.append(_cap(_fill(skill.cv[rnd % len(skill.cv)], tool, rng)) + ".")
    pool += [g + "." for g in rng.sample(_GENERIC_BULLETS, k=len(_GENERIC_BULLETS))]
    return pool


def render_cv(seeker, rng) -> str:
    """The CV of ``seeker`` (a :class:`~girl_lib.world.people.Seeker`), 90-170 words."""
    state = next(c.state for c in T.CITIES if c.name == seeker.city)
    money = rng.choice((f"${seeker.salary}k", f"${seeker.salary * 1000:,}"))
    contact = rng.choice((f"{seeker.city}, {state} | Expected salary: {money}",
                          f"Location: {seeker.city}, {state} · Salary expectation: {money}",
                          f"Based in {seeker.city}, {state}. Looking for {money} per year."))
    if seeker.relocate:
        contact += rng.choice((" | Open to relocation", " · Willing to relocate"))
    current = seeker.experiences[0].title
    industry = T.INDUSTRIES[seeker.industry].label
    trait = rng.choice(_TRAITS)
    summary = rng.choice((
        f"{current} with {seeker.years} years of experience in {industry}, known for {trait}.",
        f"{seeker.years} years as a {current.lower()} in {industry}; strengths: {trait}.",
        f"Experienced {current.lower()} ({seeker.years} years) who values {trait}.",
        f"{current} who values {trait}.",
    ))
    summary = rng.choice(("Summary: ", "Profile: ", "")) + summary
    bullet = rng.choice(("- ", "• "))
    pool = _cv_bullets(seeker, rng)
    n_exp = len(seeker.experiences)
    per_exp = {1: [4], 2: [3, 2], 3: [2, 2, 1]}[n_exp]
    skills_line = rng.choice(("Skills: ", "Tools: ", "Key skills: ")) + ", ".join(
        [seeker.tools[k] for k in seeker.skills] + rng.sample(_SOFT, k=rng.choice((0, 1, 2))))
    education = f"Education: {_degree(seeker.education, seeker.field, rng)}, {seeker.school}, {seeker.grad_year}"
    exp_title = rng.choice(("Experience:", "Work history:", "Professional experience:"))
    extras = [f"Languages: {rng.choice(_LANGUAGES)}", f"Interests: {rng.choice(_INTERESTS)}"]
    edu_first = rng.random() < 0.3
    headers = [_exp_header(exp, rng) for exp in seeker.experiences]

    def assemble(counts, n_extra=0):
        lines = [seeker.name, contact, summary]
        if edu_first:
            lines.append(education)
        lines.append(exp_title)
        k = 0
        for header, c in zip(headers, counts):
            lines.append(header)
            lines.extend(bullet + b for b in pool[k:k + c])
            k += c
        if not edu_first:
            lines.append(education)
        lines.append(skills_line)
        lines += extras[:n_extra]
        return "\n".join(lines)

    counts = list(per_exp)
    text = assemble(counts)
    n_extra = 0
    while word_count(text) < CV_WORDS[0] and n_extra < len(extras):
        n_extra += 1
        text = assemble(counts, n_extra)
    while word_count(text) < CV_WORDS[0] and sum(counts) < len(pool):
        counts[counts.index(min(counts))] += 1
        text = assemble(counts, n_extra)
    while word_count(text) > CV_WORDS[1] and sum(counts) > n_exp:
        counts[counts.index(max(counts))] -= 1
        text = assemble(counts, n_extra)
    return text


# ---------------------------------------------------------------------------------------------- JD
def _money(v: int, style: int) -> str:
    return f"${v}k" if style == 0 else f"${v * 1000:,}"


def _skill_line(key: str, rng) -> str:
    skill = T.SKILLS[T.SKILL_INDEX[key]]
    t1, t2 = rng.sample(skill.tools, 2)
    return rng.choice((f"{_cap(skill.name)} ({t1}/{t2})", f"Hands-on experience with {skill.name}",
                       f"Solid {skill.name} skills", f"Confident with {t1} or {t2}",
                       f"Proven {skill.name} experience ({t1})"))


def _nice_line(key: str, rng) -> str:
    skill = T.SKILLS[T.SKILL_INDEX[key]]
    return rng.choice((f"Nice to have: {skill.name}", f"Bonus: experience with {rng.choice(skill.tools)}",
                       f"{_cap(skill.name)} is a plus"))


def _education_line(job, rng) -> str:
    f = job.field
    return rng.choice({
        0: ("High school diploma or vocational training", "High school diploma; vocational training welcome"),
        1: (f"Bachelor's degree in {f} or similar", f"BSc in {f} or equivalent experience"),
        2: (f"Master's degree in {f}", f"MSc in {f} or a related field"),
        3: (f"Doctorate in {f}", f"PhD in {f} or equivalent professional doctorate"),
    }[job.education])


def _years_line(job, rng) -> str:
    occ = T.OCCUPATIONS[T.OCC_INDEX[job.occupation]]
    base = occ.titles[0].lower()
    if job.level == 0:
        return rng.choice((f"{job.min_years}–2 years of experience; graduates welcome",
                           f"{job.min_years}+ years in a similar role"))
    y = job.min_years
    return rng.choice((f"{y}+ years of experience as a {base} or similar", f"At least {y} years in a similar role",
                       f"{y}+ years of relevant experience"))


def render_jd(job, rng) -> str:
    """The JD of ``job`` (a :class:`~girl_lib.world.people.Job`), ``JD_WORDS`` words."""
    occ = T.OCCUPATIONS[T.OCC_INDEX[job.occupation]]
    company = rng.choice((f"{job.company} · {job.descriptor}", f"Company: {job.company} ({job.descriptor})",
                          f"{job.company}, a {job.descriptor}"))
    style = rng.randrange(2)
    pay = (f"{_money(job.salary_min, style)}–{_money(job.salary_max, style)}" if job.show_salary
           else "competitive")
    if job.remote:
        place = rng.choice(("Location: Remote (US)", "Remote within the US"))
    else:
        state = next(c.state for c in T.CITIES if c.name == job.city)
        place = f"Location: {job.city}, {state} ({rng.choice(('on-site', 'hybrid', 'on-site'))})"
    where = f"{place} | Salary: {pay}"
    about = "About us: " + rng.choice(T.INDUSTRIES[job.industry].about) if rng.random() < 0.5 else None
    duties = list(occ.duties)
    rng.shuffle(duties)
    reqs = [_skill_line(k, rng) for k in rng.sample(job.required, len(job.required))]
    reqs.insert(rng.randrange(2), _years_line(job, rng))
    reqs.append(_education_line(job, rng))
    reqs += [_nice_line(k, rng) for k in job.nice]
    bullet = rng.choice(("- ", "• "))

    def assemble(n_duties, with_about):
        lines = [job.title, company, where]
        if with_about and about:
            lines.append(about)
        lines.append("Responsibilities:")
        lines += [bullet + d for d in duties[:n_duties]]
        lines.append("Requirements:")
        lines += [bullet + r for r in reqs]
        return "\n".join(lines)

    n_duties, with_about = 2, True
    text = assemble(n_duties, with_about)
    while word_count(text) < JD_WORDS[0] and n_duties < len(duties):
        n_duties += 1
        text = assemble(n_duties, with_about)
    if word_count(text) > JD_WORDS[1]:
        with_about = False
        text = assemble(n_duties, with_about)
    while word_count(text) > JD_WORDS[1] and n_duties > 1:
        n_duties -= 1
        text = assemble(n_duties, with_about)
    return text


def section_text(text: str, header: str) -> str | None:
    """The body of section ``header`` (text after it up to the next ``Name:`` header), or None if absent."""
    lines = (text or "").splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(header):
            body = [stripped[len(header):]]
            for nxt in lines[i + 1:]:
                if _HEADER.match(nxt) or any(nxt.strip().startswith(h) for h in JD_SECTIONS):
                    break
                body.append(nxt)
            return "\n".join(body).strip()
    return None


def jd_format_ok(text: str) -> bool:
    """True when both ``Responsibilities:`` and ``Requirements:`` are present and neither is empty."""
    for header in JD_SECTIONS:
        body = section_text(text, header)
        if body is None or not re.search(r"[A-Za-z0-9]", body):
            return False
    return True
