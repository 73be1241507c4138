SELECT
    m.month AS month,
    m.mrr AS mrr,
    mv.new_mrr AS new_mrr,
    mv.expansion_mrr AS expansion_mrr,
    mv.contraction_mrr AS contraction_mrr,
    c.churn_rate AS churn_rate,
    l.ltv AS ltv
FROM mrr_by_month AS m
LEFT JOIN mrr_movements AS mv ON mv.month = m.month
LEFT JOIN churn_monthly AS c ON c.month = m.month
LEFT JOIN ltv_monthly AS l ON l.month = m.month
ORDER BY month DESC
