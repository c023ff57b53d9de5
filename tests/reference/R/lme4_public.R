# Reference fits on public datasets shipped with lme4, nlme and mlmRev (issue 14): speed and
# accuracy of alliance_stats.models.fit_mixed against lme4 (and glmmTMB for binomial models).
#
# Run from the repository root:   Rscript tests/reference/R/lme4_public.R
# Writes tests/reference/fixtures/lme4_<model>.json, and the modelling rows each model reads as
# tests/reference/fixtures/public_<data>.csv.gz (only the columns the models use), so that R
# and Python fit exactly the same rows. Factors are written as text and refitted in R from that
# text (levels sorted alphabetically, as alliance_stats sorts text levels), so that the term
# names agree. Derived columns are made here and written with the data:
#   Contraception: use01 = (use == "Y"); age2 = age^2 (lme4's I(age^2))
#   grouseticks:   ticked = (TICKS > 0); HEIGHT centred at its mean as cHEIGHT (as lme4's data)
#   guImmun:       immun01 = (immun == "Y")
# Timings: median elapsed seconds of `n_time` fits on this machine (recorded with the fixture).

source(file.path("tests", "reference", "R", "lme4_helpers.R"))
suppressPackageStartupMessages(library(mlmRev))

# Writes the rows; returns them read back as the Python tests read them: the character
# columns as text (then factors with alphabetical levels), everything else as numbers.
write_data <- function(d, name) {
  path <- file.path(fixture_dir, paste0("public_", name, ".csv.gz"))
  text <- names(d)[vapply(d, is.character, TRUE)]
  con <- gzfile(path, "w")
  write.csv(d, con, row.names = FALSE)
  close(con)
  cat("wrote", path, "text columns:", text, "\n")
  classes <- setNames(rep("character", length(text)), text)
  d <- read.csv(path, colClasses = classes)
  for (col in text) d[[col]] <- factor(d[[col]])
  d
}

# ---------------------------------------------------------------- linear
orth <- as.data.frame(nlme::Orthodont)
orth <- data.frame(distance = orth$distance, age = orth$age, Sex = as.character(orth$Sex),
                   Subject = as.character(orth$Subject))
orth <- write_data(orth, "orthodont")
fit_lmer("orthodont", "distance ~ age + Sex + (age | Subject)", orth, "orthodont", TRUE)

pen <- data.frame(diameter = Penicillin$diameter, plate = as.character(Penicillin$plate),
                  sample = as.character(Penicillin$sample))
pen <- write_data(pen, "penicillin")
fit_lmer("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", pen, "penicillin", TRUE)

pastes <- data.frame(strength = Pastes$strength, batch = as.character(Pastes$batch),
                     cask = as.character(Pastes$cask))
pastes <- write_data(pastes, "pastes")
fit_lmer("pastes", "strength ~ 1 + (1 | batch/cask)", pastes, "pastes", TRUE)

exam <- data.frame(normexam = Exam$normexam, standLRT = Exam$standLRT,
                   school = as.character(Exam$school))
exam <- write_data(exam, "exam")
fit_lmer("exam_slope", "normexam ~ standLRT + (standLRT | school)", exam, "exam", TRUE)

inst <- data.frame(y = InstEval$y, service = as.character(InstEval$service),
                   s = as.character(InstEval$s), d = as.character(InstEval$d),
                   dept = as.character(InstEval$dept))
inst <- write_data(inst, "insteval")
n_time_default <- n_time
n_time <- 3L  # about 30 s a fit here
fit_lmer("insteval", "y ~ service + (1 | s) + (1 | d) + (1 | dept)", inst, "insteval", TRUE)
n_time <- n_time_default

# ---------------------------------------------------------------- binomial
contra <- data.frame(use01 = as.integer(Contraception$use == "Y"), age = Contraception$age,
                     age2 = Contraception$age^2, urban = as.character(Contraception$urban),
                     livch = as.character(Contraception$livch),
                     district = as.character(Contraception$district))
contra <- write_data(contra, "contraception")
invisible(fit_glmer("contraception", "use01 ~ age + age2 + urban + livch + (1 | district)",
                    contra, "contraception", note = "mlmRev Contraception, random intercept"))
invisible(fit_glmer("contraception_slope",
                    "use01 ~ age + age2 + urban + livch + (urban | district)", contra,
                    "contraception", note = "mlmRev Contraception, random slope of urban"))

gt <- data.frame(ticked = as.integer(grouseticks$TICKS > 0), YEAR = as.character(grouseticks$YEAR),
                 cHEIGHT = grouseticks$HEIGHT - mean(grouseticks$HEIGHT),
                 BROOD = as.character(grouseticks$BROOD),
                 LOCATION = as.character(grouseticks$LOCATION))
gt <- write_data(gt, "grouseticks")
invisible(fit_glmer("grouseticks", "ticked ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", gt,
                    "grouseticks", note = "lme4 grouseticks, any ticks; two crossed intercepts"))

# Adaptive quadrature with rare binary predictors (momEd "S": 146 of 2,159 mothers; husEd
# "U": 182): mlmRev guImmun, one community intercept, Laplace and nAGQ = 25.
imm <- guImmun
gu <- data.frame(immun01 = as.integer(imm$immun == "Y"), kid2p = as.character(imm$kid2p),
                 mom25p = as.character(imm$mom25p), ord = as.character(imm$ord),
                 ethn = as.character(imm$ethn), momEd = as.character(imm$momEd),
                 husEd = as.character(imm$husEd), momWork = as.character(imm$momWork),
                 rural = as.character(imm$rural), pcInd81 = imm$pcInd81,
                 comm = as.character(imm$comm))
gu <- write_data(gu, "guimmun")
gu_formula <- paste("immun01 ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural +",
                    "pcInd81 + (1 | comm)")
invisible(fit_glmer("guimmun", gu_formula, gu, "guimmun",
                    note = "mlmRev guImmun, rare binary predictors, Laplace"))
invisible(fit_glmer("guimmun_agq", gu_formula, gu, "guimmun", nAGQ = 25L, tmb = FALSE,
                    note = "mlmRev guImmun, rare binary predictors, 25 quadrature points"))
