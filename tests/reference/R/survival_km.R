# Reference Kaplan-Meier curve with log-log confidence bands, computed with R survival.
#
# Run from the repository root:  Rscript tests/reference/R/survival_km.R
# Writes (committed; the Python tests never need R):
#   tests/reference/fixtures/survival_km.json
#
# The data are the hand example of tests/unit/test_retention_curve.py: seven clients with
# (sessions attended, dropped out) = (1,1) (2,1) (2,0) (3,1) (4,0) (4,1) (5,0).
# alliance_stats.retention.retention_curve matches
#   survival::survfit(Surv(time, status) ~ 1, conf.type = "log-log", conf.int = 0.95)
# (Greenwood variance; band exp(-exp(log(-log S) +- z se / log S))).
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

time <- c(1, 2, 2, 3, 4, 4, 5)
status <- c(1, 1, 0, 1, 0, 1, 0)
fit <- survfit(Surv(time, status) ~ 1, conf.type = "log-log", conf.int = 0.95)
out <- list(
  data = list(time = time, status = status),
  time = fit$time,
  n_risk = fit$n.risk,
  n_event = fit$n.event,
  survival = fit$surv,
  std_err_log = fit$std.err,
  lower = fit$lower,
  upper = fit$upper,
  meta = list(
    R = R.version.string,
    survival = as.character(packageVersion("survival")),
    call = "survfit(Surv(time, status) ~ 1, conf.type = 'log-log', conf.int = 0.95)"
  )
)
path <- file.path("tests", "reference", "fixtures", "survival_km.json")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
