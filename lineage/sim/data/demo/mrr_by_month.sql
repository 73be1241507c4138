SELECT
    month AS month,
    sum(mrr) AS mrr,
    countIf(mrr > 0) AS paying_customers
FROM customer_mrr_by_month
GROUP BY month
ORDER BY month
