SELECT
    id AS person_id,
    toStartOfMonth(created_at) AS cohort_month,
    properties.$initial_utm_source AS signup_source
FROM persons
