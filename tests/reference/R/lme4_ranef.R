# Reference conditional modes for MixedResult.ranef(): lme4's as.data.frame(ranef(m, condVar = TRUE)).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_ranef.R
# Writes tests/reference/fixtures/ranef_lme4_<model>.json (grpvar, term, grp, condval, condsd;
# not named lme4_*.json, which benchmarks/models.py reads as model fixtures).
# A separate script from lme4_models.R so that adding these fixtures does not refit (and re-time)
# every model there; the data are built exactly as in lme4_models.R (the dropout rows are the
# committed lme4_clinic_dropout_pp.csv that lme4_models.R writes).
# Linear models use tight optimizer tolerances (lme4's default stops early on clinic_wai_slope),
# so that the modes are compared at the same optimum.  The dropout model (therapist intercept
# only): lme4 (bobyqa, as in lme4_models.R) and glmmTMB may stop at slightly different points of
# a flat likelihood; to compare modes at the same parameters, lme4's own machinery
# (mkGlmerDevfun -> PIRLS -> mkMerMod) is evaluated at glmmTMB's optimum and its
# ranef(condVar = TRUE) written; lme4's own optimum is recorded as theta_lme4_optimum.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
  library(glmmTMB)
})

fixture_dir <- file.path("tests", "reference", "fixtures")
versions <- list(
  R = R.version.string,
  lme4 = as.character(packageVersion("lme4")),
  Matrix = as.character(packageVersion("Matrix"))
)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14,
                                    xtol_abs = 1e-12, maxeval = 1e5))
tolerance <- list(condval_rel = 1e-4, condval_abs = 1e-5, condsd_rel = 1e-3)

write_ranef <- function(name, formula, m, data_name, family, REML, extra = list(),
                        tol = tolerance) {
  re <- as.data.frame(ranef(m, condVar = TRUE))
  vc <- as.data.frame(VarCorr(m))
  rows <- lapply(seq_len(nrow(re)), function(i) list(
    grpvar = as.character(re$grpvar[i]), term = as.character(re$term[i]),
    grp = as.character(re$grp[i]), condval = re$condval[i], condsd = re$condsd[i]
  ))
  fx <- list(model = name, formula = formula, data = data_name, family = family, REML = REML,
             versions = versions, tolerance = tol,
             theta = unname(getME(m, "theta")), loglik = as.numeric(logLik(m)),
             varcorr = lapply(seq_len(nrow(vc)), function(i) list(
               grp = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
               var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
               vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
             ranef = rows)
  fx <- c(fx, extra)
  path <- file.path(fixture_dir, paste0("ranef_lme4_", name, ".json"))
  writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), path)
  cat("wrote", path, "\n")
}

data(sleepstudy, package = "lme4")
f <- "Reaction ~ Days + (Days | Subject)"
write_ranef("sleepstudy_reml", f, lmer(as.formula(f), sleepstudy, REML = TRUE, control = tight),
            "sleepstudy", "gaussian", TRUE)

clinic <- read.csv(file.path("alliance_stats", "bundled", "clinic.csv.gz"), stringsAsFactors = FALSE)
clinic$attended <- as.logical(clinic$attended)
clinic <- clinic[order(clinic$client, clinic$session), ]
att <- clinic[clinic$attended, ]
att$wai_total <- rowSums(att[, paste0("wai_", 1:12)])
f <- "wai_total ~ session + (1 + session | client) + (1 | therapist)"
write_ranef("clinic_wai_slope", f, lmer(as.formula(f), att, REML = TRUE, control = tight),
            "clinic", "gaussian", TRUE)
# therapist_effects(outcome = "wai_total")'s default model
f <- "wai_total ~ session + (1 | therapist) + (1 | client)"
write_ranef("clinic_wai_default", f, lmer(as.formula(f), att, REML = TRUE, control = tight),
            "clinic", "gaussian", TRUE)
f <- "wai_total ~ session + (1 | therapist/client)"
write_ranef("clinic_wai_nested", f, lmer(as.formula(f), att, REML = TRUE, control = tight),
            "clinic", "gaussian", TRUE)

pp <- read.csv(file.path(fixture_dir, "lme4_clinic_dropout_pp.csv"))
f <- "dropout ~ wai_c + validation + (1 | therapist)"
own <- glmer(as.formula(f), pp, family = binomial, control = glmerControl(optimizer = "bobyqa"))
tmb <- glmmTMB(as.formula(f), pp, family = binomial)
tmb_theta <- unname(sqrt(vapply(VarCorr(tmb)$cond, function(v) v[1, 1], 0.0)))
glmod <- glFormula(as.formula(f), pp, family = binomial)
devfun <- do.call(mkGlmerDevfun, glmod)
invisible(optimizeGlmer(devfun, stage = 1))
devfun <- updateGlmerDevfun(devfun, glmod$reTrms)
par <- c(tmb_theta, unname(fixef(tmb)$cond))
m <- mkMerMod(environment(devfun), list(par = par, fval = devfun(par), conv = 0, message = ""),
              glmod$reTrms, fr = glmod$fr)
# The likelihood is flat along the therapist SD here: alliance_stats, glmmTMB and lme4 agree to
# 1e-8 in log-likelihood but differ by about 1e-5 in the SD, so the modes are compared to 5e-5.
write_ranef("clinic_dropout", f, m, "clinic_dropout_pp", "binomial", FALSE,
            tol = list(condval_rel = 1e-4, condval_abs = 5e-5, condsd_rel = 1e-3),
            extra = list(note = "lme4 ranef evaluated at glmmTMB's optimum (see header)",
                         glmmTMB = as.character(packageVersion("glmmTMB")),
                         theta_lme4_optimum = unname(getME(own, "theta")),
                         loglik_lme4_optimum = as.numeric(logLik(own))))
