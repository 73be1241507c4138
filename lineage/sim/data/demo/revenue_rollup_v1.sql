SELECT
    toStartOfDay(timestamp) AS day,
    sum(amount) AS revenue
FROM `stripe.stripe_test.charge_revenue_view`
GROUP BY day
