SELECT
    c.id AS customer_id,
    lower(c.email) AS email,
    c.country AS country,
    c.cohort AS cohort,
    sum(r.amount) AS lifetime_revenue,
    max(r.timestamp) AS last_paid_at
FROM `stripe.stripe_test.customer_revenue_view` AS c
INNER JOIN `stripe.stripe_test.revenue_item_revenue_view` AS r ON r.customer_id = c.id
GROUP BY customer_id, email, country, cohort
