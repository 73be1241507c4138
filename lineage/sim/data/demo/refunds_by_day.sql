SELECT
    toDate(created) AS day,
    currency AS currency,
    sum(amount) / 100 AS refunded
FROM stripe.refund
WHERE status = 'succeeded'
GROUP BY day, currency
