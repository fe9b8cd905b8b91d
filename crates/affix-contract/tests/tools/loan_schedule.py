#!/usr/bin/env python3
"""Independent implementation of loan repayment schedules and schedule text v1 (crate
README, "Loan notes"; docs/formats.md), standard library only: Python's `decimal`
module with explicit quantization, no integer-fen shortcuts, so it shares no arithmetic
with the Rust code.

Usage:
  loan_schedule.py METHOD PRINCIPAL RATE START TERM   print one schedule text
  loan_schedule.py -                                  read such lines from stdin and
                                                      print every schedule text in turn
  loan_schedule.py --exact PRINCIPAL RATE TERM        the equal-instalment payment
                                                      computed exactly (fractions), for
                                                      comparison with the scale-18 one
  loan_schedule.py --digest                           SHA-256 of the schedule domain and
                                                      the schedule text read from stdin

METHOD is bullet, equal_instalments or equal_principal; PRINCIPAL in yuan (at most two
fraction digits); RATE the annual rate in percent; START YYYY-MM-DD; TERM in months.
"""
import calendar
import datetime
import hashlib
import sys
from decimal import ROUND_HALF_UP, Decimal, getcontext
from fractions import Fraction

getcontext().prec = 200  # far more than any intermediate needs: divisions below are
# quantized right after, and 200 digits cannot put a quotient on the wrong side of a tie.

FEN = Decimal("0.01")
Q18 = Decimal("1e-18")


def fen(x):
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def q18(x):
    return x.quantize(Q18, rounding=ROUND_HALF_UP)


def add_months(start, k):
    index = start.year * 12 + (start.month - 1) + k
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(start.day, last))


def payment_scale18(principal, rate_percent, n):
    """Equal-instalment payment by the documented scale-18 steps."""
    r = q18(rate_percent / Decimal(1200))
    q = Decimal(1)
    for _ in range(n):
        q = q18(q * (1 + r))
    f = r + q18(r / (q - 1))
    return fen(principal * f)


def payment_exact(principal, rate_percent, n):
    """The textbook formula in exact fractions, rounded half-up to the fen."""
    p = Fraction(principal)
    r = Fraction(rate_percent) / 1200
    q = (1 + r) ** n
    a = p * r * q / (q - 1)
    cents = a * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return fen(Decimal(whole) / 100)


def schedule(method, principal, rate_percent, start, n):
    """[(number, due, principal, interest, balance_after)]"""
    monthly = rate_percent / Decimal(1200)  # exact enough at prec 200; quantized below
    rows = []
    if method == "bullet":
        interest = fen(principal * rate_percent / Decimal(100) * Decimal(n) / Decimal(12))
        return [(1, add_months(start, n), principal, interest, Decimal("0.00"))]
    if method == "equal_principal" or rate_percent == 0:
        regular = fen(principal / Decimal(n))
    else:
        regular = payment_scale18(principal, rate_percent, n)
    balance = principal
    for k in range(1, n + 1):
        interest = fen(balance * monthly)
        if k == n:
            paid = balance
        elif method == "equal_principal":
            paid = min(regular, balance)
        else:
            paid = min(max(regular - interest, Decimal(0)), balance)
        balance -= paid
        rows.append((k, add_months(start, k), paid, interest, balance))
    return rows


def text(method, principal_text, rate_text, start_text, term_text):
    principal = fen(Decimal(principal_text))
    rate = Decimal(rate_text).quantize(FEN)
    start = datetime.date.fromisoformat(start_text)
    n = int(term_text)
    rows = schedule(method, principal, rate, start, n)
    out = [
        "affix-loan-schedule v1",
        f"repayment_method {method}",
        f"principal_yuan {principal}",
        f"annual_rate_percent {rate}",
        f"start_date {start.isoformat()}",
        f"term_months {n}",
        "number due_date principal_yuan interest_yuan total_yuan balance_after_yuan",
    ]
    for number, due, paid, interest, balance in rows:
        out.append(
            f"{number} {due.isoformat()} {fen(paid)} {fen(interest)} "
            f"{fen(paid + interest)} {fen(balance)}"
        )
    total_principal = sum((r[2] for r in rows), Decimal(0))
    total_interest = sum((r[3] for r in rows), Decimal(0))
    assert total_principal == principal, "principals must sum to the principal"
    out.append(f"total_principal_yuan {fen(total_principal)}")
    out.append(f"total_interest_yuan {fen(total_interest)}")
    out.append(f"total_repayment_yuan {fen(total_principal + total_interest)}")
    return "".join(line + "\n" for line in out)


def main(argv):
    if argv == ["--digest"]:
        data = sys.stdin.buffer.read()
        print(hashlib.sha256(b"affix.dev/contract/loan-schedule/v1\x00" + data).hexdigest())
    elif len(argv) == 4 and argv[0] == "--exact":
        print(payment_exact(Decimal(argv[1]), Decimal(argv[2]), int(argv[3])))
    elif argv == ["-"]:
        for line in sys.stdin:
            if line.strip():
                sys.stdout.write(text(*line.split()))
    elif len(argv) == 5:
        sys.stdout.write(text(*argv))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
