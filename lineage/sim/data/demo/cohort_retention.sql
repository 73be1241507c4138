SELECT
    c.cohort_month AS cohort_month,
    dateDiff('month', c.cohort_month, toStartOfMonth(e.timestamp)) AS months_since_signup,
    uniq(e.person_id) AS active_people
FROM signup_cohorts AS c
INNER JOIN (
    SELECT person_id, timestamp
    FROM events
    WHERE event = '$pageview'
) AS e ON e.person_id = c.person_id
GROUP BY cohort_month, months_since_signup
ORDER BY cohort_month, months_since_signup
