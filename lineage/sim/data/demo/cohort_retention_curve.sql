WITH sizes AS (
    SELECT cohort_month, active_people AS cohort_size
    FROM cohort_retention
    WHERE months_since_signup = 0
)
SELECT
    r.cohort_month AS cohort_month,
    r.months_since_signup AS months_since_signup,
    round(r.active_people / s.cohort_size, 4) AS retention
FROM cohort_retention AS r
INNER JOIN sizes AS s ON s.cohort_month = r.cohort_month
ORDER BY cohort_month, months_since_signup
