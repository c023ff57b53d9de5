# Profile-likelihood intervals (issue 15): lme4's confint(method = "profile") on the models of
# lme4_models.R / lme4_families.R fixtures (sleepstudy REML and ML, Penicillin, cbpp with trials,
# Mmmec Poisson with an offset) and a sleepstudy model with three correlated random terms.
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
pen <- read_rows("penicillin", c("plate", "sample"))
cb <- read_rows("cbpp", c("period", "herd"))
mm <- read_rows("mmmec", "region")
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
                              family = poisson))
)
path <- file.path(fixture_dir, "confint_profile.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
