# Reference fits for the binomial-with-trials and Poisson families (issue 15): lme4's glmer and
# glmmTMB on public datasets shipped with lme4 and mlmRev.
#
# Run from the repository root:   Rscript tests/reference/R/lme4_families.R
# Writes tests/reference/fixtures/lme4_<model>.json and the modelling rows as
# tests/reference/fixtures/public_<data>.csv.gz. Derived columns, written with the data:
#   cbpp:          prop = incidence / size (the outcome with weights = size)
#   contraception: rows grouped by district, urban and livch; uses, n, prop = uses / n
#   grouseticks:   TICKS (counts), YEAR, cHEIGHT (HEIGHT centred at its mean), BROOD, LOCATION
#   Mmmec:         deaths, expected, uvb, region

source(file.path("tests", "reference", "R", "lme4_helpers.R"))
suppressPackageStartupMessages(library(mlmRev))

write_rows <- function(d, name) {
  path <- file.path(fixture_dir, paste0("public_", name, ".csv.gz"))
  con <- gzfile(path, "w")
  write.csv(d, con, row.names = FALSE)
  close(con)
  cat("wrote", path, "\n")
  text <- names(d)[vapply(d, is.character, TRUE)]
  classes <- setNames(rep("character", length(text)), text)
  d <- read.csv(path, colClasses = classes)
  for (col in text) d[[col]] <- factor(d[[col]])
  d
}

fit_family <- function(name, formula, python_formula, data, data_name, family, weights = NULL,
                       note = "") {
  f <- as.formula(formula)
  ctrl <- glmerControl(optimizer = "bobyqa")
  fit <- function() glmer(f, data = data, family = family, control = ctrl)
  m <- fit()
  timing <- time_fit(fit)
  tfit <- function() glmmTMB(f, data = data, family = family)
  t <- tfit()
  tt <- time_fit(tfit)
  fx <- list(
    model = name, formula = python_formula, r_formula = formula, data = data_name,
    family = family()$family, REML = FALSE, nAGQ = 1L, weights = weights, versions = versions,
    tolerance = tol_binom, note = note, lme4 = lme4_block(m, timing), glmmTMB = tmb_block(t, tt)
  )
  path <- file.path(fixture_dir, paste0("lme4_", name, ".json"))
  writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), path)
  cat("wrote", path, "\n")
}

cb <- data.frame(incidence = cbpp$incidence, size = cbpp$size,
                 prop = cbpp$incidence / cbpp$size, period = as.character(cbpp$period),
                 herd = as.character(cbpp$herd))
cb <- write_rows(cb, "cbpp")
fit_family("cbpp_trials", "cbind(incidence, size - incidence) ~ period + (1 | herd)",
           "prop ~ period + (1 | herd)", cb, "cbpp", binomial, weights = "size",
           note = "lme4 cbpp: binomial with trials (cbind in R; proportion with weights here)")

ct <- aggregate(cbind(uses = as.integer(Contraception$use == "Y"), n = 1L) ~
                  district + urban + livch, data = Contraception, FUN = sum)
ct <- data.frame(uses = ct$uses, n = ct$n, prop = ct$uses / ct$n,
                 district = as.character(ct$district), urban = as.character(ct$urban),
                 livch = as.character(ct$livch))
ct <- write_rows(ct, "contraception_grouped")
fit_family("contraception_trials", "cbind(uses, n - uses) ~ urban + livch + (1 | district)",
           "prop ~ urban + livch + (1 | district)", ct, "contraception_grouped", binomial,
           weights = "n", note = "mlmRev Contraception grouped by district, urban and livch")

gt <- data.frame(TICKS = grouseticks$TICKS, YEAR = as.character(grouseticks$YEAR),
                 cHEIGHT = grouseticks$HEIGHT - mean(grouseticks$HEIGHT),
                 BROOD = as.character(grouseticks$BROOD),
                 LOCATION = as.character(grouseticks$LOCATION))
gt <- write_rows(gt, "grouseticks_counts")
fit_family("grouseticks_poisson", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)",
           "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", gt, "grouseticks_counts",
           poisson, note = "lme4 grouseticks tick counts, two crossed intercepts")

mm <- data.frame(deaths = Mmmec$deaths, expected = Mmmec$expected, uvb = Mmmec$uvb,
                 region = as.character(Mmmec$region))
mm <- write_rows(mm, "mmmec")
fit_family("mmmec_poisson", "deaths ~ uvb + offset(log(expected)) + (1 | region)",
           "deaths ~ uvb + offset(log(expected)) + (1 | region)", mm, "mmmec", poisson,
           note = "mlmRev Mmmec melanoma deaths, log expected deaths as offset")
