# Reference fits of the engagement models (alliance_stats.engagement) with lme4.
#
# Run from the repository root:   Rscript tests/reference/R/engagement_models.R
# Reads the bundled SIMULATED clinic data (alliance_stats/bundled/clinic.csv.gz) and builds everything in R,
# independently of the Python code: the WAI-SR total (item sum, prorated when at most 3 of the
# 12 items are missing), the person-period rows (attended sessions at risk under
# "unplanned_end"), the running within/between splits of the past only, the next-session
# attendance rows, and the natural-spline baseline (splines::ns, knots at quantiles of the
# rows' periods). Writes tests/reference/fixtures/engagement_<model>.json.
#
# The dropout hazard is also fitted bias-reduced, the catalogue's default estimator, written
# here independently of the Python code with lme4's own Laplace deviance function: the
# variances at glmer's ML estimates, the fixed effects minimising
#   deviance(theta, beta) - log det(RX' RX)
# (RX' RX = the fixed effects' information, from lme4's PIRLS decomposition at the mode),
# by Newton steps, with standard errors from solve(RX' RX) and from the numerical Hessian of the unpenalised
# deviance over (theta, beta) (stats::optimHess). The variances are glmer's, polished by its
# own deviance function (see refine()).

suppressPackageStartupMessages({
  library(lme4)
  library(splines)
  library(jsonlite)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                 Matrix = as.character(packageVersion("Matrix")))
strategies <- c("validation", "feedback_checkin", "offering_choices", "explaining_rationale")

d <- read.csv(gzfile("alliance_stats/bundled/clinic.csv.gz"), stringsAsFactors = FALSE)
d$attended <- d$attended %in% c("True", "TRUE", "true", "1")
d <- d[order(d$client, d$session), ]
items <- as.matrix(d[, paste0("wai_", 1:12)])
answered <- rowSums(!is.na(items))
d$wai_sr_total <- ifelse(answered >= 9, rowMeans(items, na.rm = TRUE) * 12, NA)
d$wai_sr_total[!d$attended] <- NA

# running split: mean of the attended, non-missing values so far (this session included)
running_split <- function(x, client, attended) {
  x[!attended] <- NA
  ok <- !is.na(x)
  csum <- ave(ifelse(ok, x, 0), client, FUN = cumsum)
  cn <- ave(as.numeric(ok), client, FUN = cumsum)
  between <- ifelse(cn > 0, csum / cn, NA)
  list(between = between, within = x - between)
}
for (v in c(strategies, "wai_sr_total")) {
  s <- running_split(d[[v]], d$client, d$attended)
  d[[paste0(v, "_between")]] <- s$between
  d[[paste0(v, "_within")]] <- s$within
}
d$period <- ave(as.numeric(d$attended), d$client, FUN = cumsum)
last <- !duplicated(d$client, fromLast = TRUE)
last_attended_row <- ave(ifelse(d$attended, d$session, -Inf), d$client, FUN = max) == d$session
dropped <- ave(as.numeric(last & !d$attended), d$client, FUN = max) == 1
d$dropout_event <- as.integer(d$attended & last_attended_row & dropped)
nxt <- c(d$attended[-1], NA)
nxt[last] <- NA
d$attended_next <- ifelse(d$attended, as.integer(nxt), NA)

terms <- c(as.vector(rbind(paste0(strategies, "_within"), paste0(strategies, "_between"))),
           "wai_sr_total_within", "wai_sr_total_between")

deviance_function <- function(f, rows, family) {
  # a tight PIRLS tolerance, so that central differences of the deviance are smooth
  glmer(f, data = rows, family = family, devFunOnly = TRUE,
        control = glmerControl(tolPwrss = 1e-12))
}

# glmer's optimum polished with its own deviance function (bounded L-BFGS-B): for the cloglog
# link glmer's bobyqa stops about 1e-4 in deviance short, and its logLik() differs from its
# deviance function at the same parameters by about as much
refine <- function(dfun, m) {
  x0 <- c(getME(m, "theta"), fixef(m))
  o <- optim(x0, dfun, method = "L-BFGS-B", lower = c(0, rep(-Inf, length(fixef(m)))),
             control = list(factr = 1, maxit = 5000, ndeps = rep(1e-4, length(x0))))
  if (o$value > dfun(x0)) o <- list(par = x0, value = dfun(x0))
  list(theta = o$par[1], loglik = -o$value / 2)
}

bias_reduce <- function(dfun, m, theta) {
  rho <- environment(dfun)
  penalised <- function(beta) {
    tryCatch({
      dev <- dfun(c(theta, beta))
      dev - 2 * sum(log(abs(diag(rho$pp$RX()))))
    }, error = function(e) Inf)
  }
  information <- function(beta) {
    dfun(c(theta, beta))
    crossprod(rho$pp$RX())
  }
  grad <- function(beta, h = 1e-4) {
    sapply(seq_along(beta), function(i) {
      e <- replace(numeric(length(beta)), i, h * max(abs(beta[i]), 0.1))
      (penalised(beta + e) - penalised(beta - e)) / (2 * e[i])
    })
  }
  # Newton steps with the expected Hessian 2 * information, halving steps that do not lower
  # the penalised deviance
  beta <- fixef(m)
  fb <- penalised(beta)
  for (it in 1:100) {
    step <- solve(2 * information(beta), grad(beta))
    if (max(abs(step)) < 1e-8) break
    t <- 1
    while (t > 1e-6 && penalised(beta - t * step) > fb) t <- t / 2
    beta <- beta - t * step
    fb <- penalised(beta)
  }
  cat("penalised deviance: ML", penalised(fixef(m)), "bias-reduced", penalised(beta),
      "last step", max(abs(step)), "\n")
  dev <- dfun(c(theta, beta))
  info <- information(beta)
  hess <- optimHess(c(theta, beta), dfun)
  cov_h <- 2 * solve(hess)[-seq_along(theta), -seq_along(theta)]
  list(estimate = beta, se_model = sqrt(diag(solve(info))), se_hessian = sqrt(diag(cov_h)),
       loglik = -dev / 2, convergence = max(abs(step)))
}

fit_one <- function(name, rows, outcome, random, df, bias_reduced = FALSE, link = "logit") {
  # between parts centred at their mean over the rows, as alliance_stats does (slopes unchanged)
  for (t in grep("_between$", terms, value = TRUE)) rows[[t]] <- rows[[t]] - mean(rows[[t]])
  rows <- rows[complete.cases(rows[, c(outcome, terms, "period")]), ]
  f <- as.formula(paste(outcome, "~ ns(period, df =", df, ") +", paste(terms, collapse = " + "),
                        "+", random))
  family <- binomial(link = link)
  m <- glmer(f, data = rows, family = family,
             control = glmerControl(optimizer = "bobyqa",
                                   optCtrl = list(maxfun = 1e5, rhoend = 1e-10)))
  fe <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  vc <- as.data.frame(VarCorr(m))
  fx <- list(
    model = name, formula = deparse1(f), link = link, data = "alliance_stats/bundled/clinic.csv.gz (rows built in R)",
    versions = versions,
    tolerance = list(fixef_abs = 1e-4, se_rel = 1e-3, loglik_abs = 1e-4, sd_abs = 1e-4),
    nobs = nobs(m), n_events = sum(rows[[outcome]] == (outcome == "dropout_event")),
    loglik = as.numeric(logLik(m)), singular = isSingular(m),
    conv_messages = as.list(m@optinfo$conv$lme4$messages),
    fixef = lapply(terms, function(t) list(term = t, estimate = unname(fe[t]),
                                            std_error = unname(se[t]))),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], sdcor = vc$sdcor[i])),
    wai_sr_total_sum = sum(d$wai_sr_total, na.rm = TRUE)
  )
  dfun <- deviance_function(f, rows, family)
  polished <- refine(dfun, m)
  fx$loglik_polished <- polished$loglik
  fx$theta_polished <- polished$theta
  if (bias_reduced) {
    br <- bias_reduce(dfun, m, polished$theta)
    names(br$estimate) <- names(fe)
    names(br$se_model) <- names(br$se_hessian) <- names(fe)
    fx$bias_reduced <- list(
      method = paste("variances at glmer's ML; fixed effects minimise the Laplace deviance",
                     "minus log det(RX'RX) (Newton steps)"),
      loglik = br$loglik, convergence = br$convergence,
      tolerance = list(fixef_abs = 2e-5, se_rel = 1e-3, loglik_abs = 1e-5),
      fixef = lapply(terms, function(t) list(term = t, estimate = unname(br$estimate[t]),
                                              se_model = unname(br$se_model[t]),
                                              se_hessian = unname(br$se_hessian[t]))))
  }
  path <- file.path(fixture_dir, paste0("engagement_", name, ".json"))
  writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
  cat("wrote", path, "\n")
}

# dropout hazard: rows at risk = attended sessions except a completer's final session
completer_final <- last & d$attended
pp <- d[d$attended & !completer_final, ]
fit_one("dropout_hazard", pp, "dropout_event", "(1 | therapist)", 4, bias_reduced = TRUE)
# the cloglog option: the grouped-time proportional-hazards model
fit_one("dropout_hazard_cloglog", pp, "dropout_event", "(1 | therapist)", 4,
        bias_reduced = TRUE, link = "cloglog")

# next-session attendance: attended sessions with a next scheduled session
att <- d[d$attended & !is.na(d$attended_next), ]
fit_one("next_session_attendance", att, "attended_next", "(1 | therapist) + (1 | client)", 4)

# the baseline basis alone: splines::ns on a fixed period vector (checked for the same span)
period <- rep(1:20, times = seq(40, 2, by = -2))
basis <- ns(period, df = 4)
writeLines(toJSON(list(versions = versions, period = period, basis = unclass(basis)[, 1:4],
                       knots = attr(basis, "knots"), tolerance = 1e-8),
                  digits = NA, pretty = FALSE),
           file.path(fixture_dir, "engagement_ns_basis.json"))
cat("wrote", file.path(fixture_dir, "engagement_ns_basis.json"), "\n")
