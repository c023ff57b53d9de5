# Profile-likelihood intervals (issue 15): lme4's confint(method = "profile") on the models of
# lme4_models.R / lme4_families.R fixtures (sleepstudy REML and ML, Penicillin, cbpp with trials,
# Mmmec Poisson with an offset, cbpp with 25 quadrature points, glmer.nb on Mmmec and grouseticks,
# its size held at the estimate as lme4's profile holds it) and a sleepstudy model with three
# correlated random terms.
# Two binomial models with a random slope, the clinic dropout hazard with (1 + wai_c | therapist)
# and Contraception with (urban | district): lme4's full profile of these stops ("profiling
# detected new, lower deviance"), so lme4 gives the SDs and the correlation only (parm =
# "theta_"; it warns of a non-monotonic profile and a bad spline fit for the correlation) and
# glmmTMB (the same Laplace deviance, profiled one parameter at a time) the fixed effects and
# the SDs (its profile of the correlation parameter fails on both).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_profile.R
# Writes tests/reference/fixtures/confint_profile.json: per model the 95% intervals of every
# parameter (lme4's names: .sig01 ..., .sigma, fixed effects) and the time.

source(file.path("tests", "reference", "R", "lme4_helpers.R"))

block <- function(m) {
  t0 <- system.time(ci <- confint(m, method = "profile", level = 0.95))[["elapsed"]]
  list(parameter = rownames(ci), conf_low = unname(ci[, 1]), conf_high = unname(ci[, 2]),
       seconds = t0)
}
read_rows <- function(name, text) {
  path <- file.path(fixture_dir, paste0("public_", name, ".csv.gz"))
  d <- read.csv(path, colClasses = setNames(rep("character", length(text)), text))
  for (col in text) d[[col]] <- factor(d[[col]])
  d
}

ss <- read.csv(file.path(fixture_dir, "lme4_sleepstudy.csv"))
ss$Subject <- factor(ss$Subject)
# a block of three correlated terms: a centred, scaled quadratic day (lme4's default optimizer
# stops short of the optimum here and its profile then fails; bobyqa with a tight rhoend does not)
ss$Days2 <- (ss$Days - 4.5)^2 / 10
# the slope models: lme4's variance parameters, glmmTMB's fixed effects and log SDs
slope_block <- function(formula, data) {
  m <- glmer(formula, data = data, family = binomial)
  t0 <- system.time(ci <- suppressWarnings(confint(m, method = "profile", parm = "theta_")))
  tm <- glmmTMB(formula, data = data, family = binomial)
  par <- tm$fit$par
  beta_names <- names(fixef(tm)$cond)
  tmb <- lapply(seq_along(par), function(p) {
    r <- tryCatch(confint(tm, parm = p, method = "profile"), error = function(e) NULL)
    if (is.null(r)) return(NULL)
    ends <- unname(r[1, 1:2])
    if (p > length(beta_names)) ends <- exp(ends)  # log SD -> SD
    list(parameter = if (p <= length(beta_names)) beta_names[p] else
           paste0(".sig", sprintf("%02d", c(1, 3)[p - length(beta_names)])),
         conf_low = ends[1], conf_high = ends[2])
  })
  tmb <- Filter(Negate(is.null), tmb)
  list(parameter = rownames(ci), conf_low = unname(ci[, 1]), conf_high = unname(ci[, 2]),
       seconds = t0[["elapsed"]], loglik = as.numeric(logLik(m)),
       glmmTMB_loglik = as.numeric(logLik(tm)),
       glmmTMB = list(parameter = vapply(tmb, `[[`, "", "parameter"),
                      conf_low = vapply(tmb, `[[`, 0, "conf_low"),
                      conf_high = vapply(tmb, `[[`, 0, "conf_high")))
}
dropout <- read.csv(file.path(fixture_dir, "lme4_clinic_dropout_pp.csv"))
dropout$therapist <- factor(dropout$therapist)
contra <- read_rows("contraception", c("urban", "livch", "district"))
pen <- read_rows("penicillin", c("plate", "sample"))
cb <- read_rows("cbpp", c("period", "herd"))
mm <- read_rows("mmmec", "region")
gt <- read_rows("grouseticks_counts", c("YEAR", "BROOD", "LOCATION"))
out <- list(
  versions = versions,
  sleepstudy_reml = block(lmer(Reaction ~ Days + (Days | Subject), data = ss)),
  sleepstudy_ml = block(lmer(Reaction ~ Days + (Days | Subject), data = ss, REML = FALSE)),
  sleepstudy_quad = block(lmer(Reaction ~ Days + Days2 + (Days + Days2 | Subject), data = ss,
                              REML = FALSE,
                              control = lmerControl(optimizer = "bobyqa",
                                                    optCtrl = list(rhoend = 1e-10, maxfun = 1e5)))),
  penicillin = block(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), data = pen)),
  cbpp_trials = block(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cb,
                            family = binomial)),
  mmmec_poisson = block(glmer(deaths ~ uvb + offset(log(expected)) + (1 | region), data = mm,
                              family = poisson)),
  cbpp_agq = block(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cb,
                         family = binomial, nAGQ = 25)),
  mmmec_negbin = block(glmer.nb(deaths ~ uvb + offset(log(expected)) + (1 | region), data = mm)),
  grouseticks_negbin = block(glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | LOCATION), data = gt)),
  clinic_dropout_slope = slope_block(dropout ~ wai_c + validation + (1 + wai_c | therapist),
                                     dropout),
  contraception_slope = slope_block(use01 ~ age + age2 + urban + livch + (urban | district),
                                    contra)
)
path <- file.path(fixture_dir, "confint_profile.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
