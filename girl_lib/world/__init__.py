"""The synthetic recruiting world: taxonomy, people and jobs, texts, hidden fit function, oracle recruiter.

- :mod:`.taxonomy` occupations, skills, industries, cities (Python data)
- :mod:`.fit`      the documented hidden fit function (recruiter and seeker sides)
- :mod:`.people`   :class:`World`, :class:`Seeker`, :class:`Job`, :func:`make_world`
- :mod:`.texts`    CV/JD rendering, ``JD_SECTIONS``, :func:`jd_format_ok`
- :mod:`.oracle`   :func:`parse_cv`, :func:`parse_jd`, :func:`oracle_fit` (scores texts, generated ones too)
"""

from .fit import fit_probability
from .oracle import Recruiter, oracle_fit, parse_cv, parse_jd
from .people import Job, Seeker, World, make_world
from .texts import JD_SECTIONS, jd_format_ok

__all__ = ["JD_SECTIONS", "Job", "Seeker", "World", "fit_probability", "jd_format_ok", "make_world",
           "oracle_fit", "parse_cv", "parse_jd", "Recruiter"]
