WITH monthly AS (
    SELECT customer_id, month, mrr
    FROM customer_mrr_by_month
)
SELECT
    cur.month AS month,
    sumIf(cur.mrr, prev.mrr = 0) AS new_mrr,
    sumIf(cur.mrr - prev.mrr, prev.mrr > 0 AND cur.mrr > prev.mrr) AS expansion_mrr,
    sumIf(prev.mrr - cur.mrr, cur.mrr < prev.mrr) AS contraction_mrr
FROM monthly AS cur
LEFT JOIN monthly AS prev
    ON prev.customer_id = cur.customer_id AND prev.month = addMonths(cur.month, -1)
GROUP BY month
ORDER BY month
