# Reference optimum for the discrete-time dropout model of the power analysis (lme4 AND glmmTMB).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_power_pp.R
# Reads  tests/reference/fixtures/power_default_pp.csv (person-period rows of replicate 0 of
#        alliance_stats.power_analysis() with its defaults; see power_lme4_timing.R)
# Writes tests/reference/fixtures/lme4_power_default_pp.json in the layout of lme4_models.R.
#
# Why this dataset: at most one event per client, so the client SD on the logit scale is large
# at the optimum (about 6). mixedlm 1.3.0's native PIRLS diverges beyond a client SD of about 3
# and returns an infinite deviance there; tests/reference/test_lme4_models.py checks that
# alliance_stats (own Laplace deviance as fallback) reaches the optimum of lme4 / glmmTMB.
# lme4 is fitted with its default control (as simr refits) and with bobyqa and tight
# tolerances; the block with the highest log-likelihood is stored as "lme4", the others under
# "lme4_other". glmmTMB (TMB's exact Laplace gradient) is the second opinion.

source(file.path("tests", "reference", "R", "lme4_helpers.R"))  # versions, coef_table

d <- read.csv(file.path(fixture_dir, "power_default_pp.csv"))
formula <- "event ~ validation_cwc + validation_cm + (1 | therapist) + (1 | client)"
f <- as.formula(formula)

control_block <- function(m, label) {
  vc <- as.data.frame(VarCorr(m))
  list(
    control = label,
    fixef = coef_table(fixef(m), sqrt(diag(as.matrix(vcov(m))))),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(
      grp = vc$grp[i], var1 = vc$var1[i], var2 = NULL, vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
    theta = unname(getME(m, "theta")),
    loglik = as.numeric(logLik(m)),
    nobs = nobs(m),
    singular = isSingular(m),
    conv_messages = as.list(m@optinfo$conv$lme4$messages)
  )
}

fits <- list(
  control_block(suppressMessages(glmer(f, data = d, family = binomial)), "default"),
  control_block(suppressMessages(glmer(f, data = d, family = binomial,
                                    control = glmerControl(optimizer = "bobyqa"))), "bobyqa"),
  control_block(suppressMessages(glmer(
    f, data = d, family = binomial,
    control = glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10,
                                                                  maxfun = 1e5)))),
    "bobyqa, rhoend = 1e-10")
)
lls <- vapply(fits, function(b) b$loglik, 0)
best <- which.max(lls)

t <- glmmTMB(f, data = d, family = binomial)
vc <- VarCorr(t)$cond
tmb <- list(
  fixef = coef_table(fixef(t)$cond, sqrt(diag(vcov(t)$cond))),
  sd = lapply(names(vc), function(g) list(grp = g, sd = unname(attr(vc[[g]], "stddev")))),
  loglik = as.numeric(logLik(t)),
  converged = t$fit$convergence == 0 && isTRUE(t$sdr$pdHess),
  pdHess = isTRUE(t$sdr$pdHess)
)

fx <- list(
  model = "power_default_pp", formula = formula, data = "power_default_pp",
  family = "binomial", REML = FALSE, nAGQ = 1L, versions = versions,
  tolerance = list(fixef_abs = 1e-3, loglik_abs = 1e-3,
                   rule = "ours >= best(lme4, glmmTMB) - 1e-3"),
  note = paste("Dropout hazard with at most one event per client: client SD about 6 at the",
               "optimum, beyond where mixedlm 1.3.0's PIRLS fails"),
  n_rows = nrow(d), n_events = sum(d$event),
  lme4 = fits[[best]], lme4_other = fits[-best], glmmTMB = tmb
)
path <- file.path(fixture_dir, "lme4_power_default_pp.json")
writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), path)
cat("wrote", path, "\n")
cat("lme4 logLik:", lls, "\nglmmTMB logLik:", tmb$loglik, "\n")
