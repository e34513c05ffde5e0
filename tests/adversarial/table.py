"""All the hostile cases, in one table."""

from tests.adversarial.cases import option_cases, record_cases, sacct_cases, trace_cases
from tests.adversarial.cases_crosscheck import crosscheck_cases
from tests.adversarial.cases_more import estimate_cases, other_cases, path_cases, train_cases

CASES = [
    *record_cases(),
    *option_cases(),
    *sacct_cases(),
    *trace_cases(),
    *path_cases(),
    *estimate_cases(),
    *other_cases(),
    *train_cases(),
    *crosscheck_cases(),
]
