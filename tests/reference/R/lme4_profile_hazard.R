# Profile-likelihood intervals of the default dropout hazard model on SIMULATED data, where
# the engine's own profile fails (its inner PIRLS does not converge along the profile) and
# alliance_stats profiles its own Laplace deviance instead. The reference is the profile
# written out (no spline interpolation, which made lme4's and glmmTMB's confint fail on this
# model in some runs): for each fixed effect b_j, glmer refits the model with x_j * b_j as an
# offset (every other parameter re-estimated) and uniroot finds where the deviance has risen
# by qchisq(0.95, 1).
#
# Run from the repository root:  Rscript tests/reference/R/lme4_profile_hazard.R
# Reads   tests/reference/fixtures/teaching_dropout_pp.csv.gz  (person-period rows of the bundled
#         SIMULATED 'teaching' dataset, built by alliance_stats.engagement.engagement_rows)
# Writes  tests/reference/fixtures/confint_profile_hazard.json (committed; the tests never need R)
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

fixtures <- file.path("tests", "reference", "fixtures")
d <- read.csv(file.path(fixtures, "teaching_dropout_pp.csv.gz"))
d$therapist <- factor(d$therapist)
terms <- c("period_ns1", "validation_within", "validation_between")
f <- dropout_event ~ period_ns1 + validation_within + validation_between + (1 | therapist)
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
m <- glmer(f, data = d, family = binomial, control = ctrl)
dev_hat <- -2 * as.numeric(logLik(m))
cut <- qchisq(0.95, 1)

profile_deviance <- function(term, value) {
  others <- setdiff(terms, term)
  fixed <- if (term == "(Intercept)") rep(1, nrow(d)) else d[[term]]
  rhs <- c(if (term == "(Intercept)") "0" else "1", others, "(1 | therapist)")
  g <- reformulate(rhs, response = "dropout_event")
  d$.off <- value * fixed
  fit <- glmer(g, data = d, family = binomial, offset = .off, control = ctrl)
  -2 * as.numeric(logLik(fit)) - dev_hat - cut
}

rows <- lapply(c("(Intercept)", terms), function(term) {
  b <- fixef(m)[[term]]
  se <- sqrt(diag(vcov(m)))[[term]]
  lo <- uniroot(function(v) profile_deviance(term, v), c(b - 4 * se, b), tol = 1e-9)$root
  hi <- uniroot(function(v) profile_deviance(term, v), c(b, b + 4 * se), tol = 1e-9)$root
  list(term = term, estimate = b, conf_low = lo, conf_high = hi)
})

out <- list(
  formula = deparse(f),
  loglik = as.numeric(logLik(m)),
  theta = unname(getME(m, "theta")),
  profile = rows,
  meta = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
              method = "offset refits + uniroot, deviance rise qchisq(0.95, 1)")
)
path <- file.path(fixtures, "confint_profile_hazard.json")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), path)
cat("wrote", path, "\n")
