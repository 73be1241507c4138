SELECT
    prev.month AS month,
    uniq(prev.customer_id) AS customers_at_start,
    uniqIf(prev.customer_id, cur.customer_id = '') AS churned_customers,
    round(churned_customers / customers_at_start, 4) AS churn_rate
FROM customer_mrr_by_month AS prev
LEFT JOIN customer_mrr_by_month AS cur
    ON cur.customer_id = prev.customer_id AND cur.month = addMonths(prev.month, 1)
WHERE prev.month < toStartOfMonth(now())
GROUP BY month
ORDER BY month
