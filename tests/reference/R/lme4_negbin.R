# Reference fits for the negative binomial family (issue 15): lme4's glmer.nb and glmmTMB's
# nbinom2 on public datasets shipped with lme4 and mlmRev (the rows lme4_families.R writes),
# and a second Poisson model with an exposure offset (cbpp: cases over herd size).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_negbin.R
# Reads tests/reference/fixtures/public_{grouseticks_counts,mmmec,cbpp}.csv.gz and writes
# tests/reference/fixtures/lme4_<model>.json, with glmer.nb's size ("theta" in MASS and lme4,
# getME(m, "glmer.nb.theta")) and glmmTMB's (sigma(m) for nbinom2).

source(file.path("tests", "reference", "R", "lme4_helpers.R"))

read_rows <- function(name, text) {
  path <- file.path(fixture_dir, paste0("public_", name, ".csv.gz"))
  d <- read.csv(path, colClasses = setNames(rep("character", length(text)), text))
  for (col in text) d[[col]] <- factor(d[[col]])
  d
}

fit_nb <- function(name, formula, data, data_name, note = "") {
  f <- as.formula(formula)
  fit <- function() glmer.nb(f, data = data)
  m <- fit()
  messages <- character(0)
  withCallingHandlers(fit(), warning = function(w) {
    messages <<- c(messages, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  timing <- time_fit(fit)
  tfit <- function() glmmTMB(f, data = data, family = nbinom2)
  t <- tfit()
  tt <- time_fit(tfit)
  lme4 <- lme4_block(m, timing)
  lme4$size <- unname(getME(m, "glmer.nb.theta"))
  lme4$warnings <- as.list(unique(messages))
  tmb <- tmb_block(t, tt)
  tmb$size <- unname(sigma(t))
  fx <- list(
    model = name, formula = formula, data = data_name, family = "negative_binomial",
    REML = FALSE, nAGQ = 1L, versions = versions,
    tolerance = list(fixef_abs = 1e-3, loglik_abs = 1e-3, size_rel = 1e-3,
                     rule = "ours >= best(lme4, glmmTMB) - 1e-3"),
    note = note, lme4 = lme4, glmmTMB = tmb
  )
  path <- file.path(fixture_dir, paste0("lme4_", name, ".json"))
  writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), path)
  cat("wrote", path, "\n")
}

gt <- read_rows("grouseticks_counts", c("YEAR", "BROOD", "LOCATION"))
fit_nb("grouseticks_negbin", "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", gt, "grouseticks_counts",
       note = "lme4 grouseticks tick counts, negative binomial (glmer.nb)")
mm <- read_rows("mmmec", "region")
fit_nb("mmmec_negbin", "deaths ~ uvb + offset(log(expected)) + (1 | region)", mm, "mmmec",
       note = "mlmRev Mmmec melanoma deaths, negative binomial, log expected deaths as offset")

cb <- read_rows("cbpp", c("period", "herd"))
fit_nb("cbpp_negbin", "incidence ~ period + offset(log(size)) + (1 | herd)", cb, "cbpp",
       note = "lme4 cbpp cases, negative binomial, log herd size as offset")
f <- incidence ~ period + offset(log(size)) + (1 | herd)
pfit <- function() glmer(f, data = cb, family = poisson, control = glmerControl(optimizer = "bobyqa"))
pm <- pfit()
tfit <- function() glmmTMB(f, data = cb, family = poisson)
fx <- list(
  model = "cbpp_poisson", formula = "incidence ~ period + offset(log(size)) + (1 | herd)",
  data = "cbpp", family = "poisson", REML = FALSE, nAGQ = 1L, versions = versions,
  tolerance = tol_binom, note = "lme4 cbpp cases, Poisson, log herd size as offset",
  lme4 = lme4_block(pm, time_fit(pfit)), glmmTMB = tmb_block(tfit(), time_fit(tfit))
)
path <- file.path(fixture_dir, "lme4_cbpp_poisson.json")
writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), path)
cat("wrote", path, "\n")
