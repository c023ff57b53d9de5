# lme4 formula forms (issue 15): term names and estimates of lmer fits on nlme's Orthodont,
# written to tests/reference/fixtures/lmer_formulas.json (one entry per formula).
#
# Run from the repository root after lme4_public.R (it reads the rows that script wrote):
#   Rscript tests/reference/R/lme4_formulas.R

source(file.path("tests", "reference", "R", "lme4_helpers.R"))

path <- file.path(fixture_dir, "public_orthodont.csv.gz")
orth <- read.csv(path, colClasses = c(Sex = "character", Subject = "character"))
orth$Sex <- factor(orth$Sex)
orth$Subject <- factor(orth$Subject)

forms <- c(
  "distance ~ factor(age) + (1 | Subject)",
  "distance ~ age + I(age^2) + (1 | Subject)",
  "distance ~ age + I(age*age) + (1 | Subject)",
  "distance ~ log(age) + Sex + (1 | Subject)",
  "distance ~ sqrt(age) + (1 | Subject)",
  "distance ~ poly(age, 2) + (1 | Subject)",
  "distance ~ scale(age) + (1 | Subject)",
  "distance ~ relevel(Sex, ref = \"Male\") + age + (1 | Subject)",
  "distance ~ 0 + Sex + age + (1 | Subject)",
  "distance ~ -1 + Sex + age + (1 | Subject)",
  "distance ~ age * Sex + (1 | Subject)",
  "distance ~ age + Sex + age:Sex + (1 | Subject)",
  "distance ~ factor(age) * Sex + (1 | Subject)",
  "distance ~ age + (0 + age | Subject)",
  "distance ~ age + (1 | Sex:Subject)",
  "distance ~ age + (1 | Sex/Subject)",
  "distance ~ age + (age || Subject)"
)
out <- lapply(forms, function(f) {
  m <- lmer(as.formula(f), data = orth, REML = TRUE)
  list(formula = f, fixef = coef_table(fixef(m), sqrt(diag(as.matrix(vcov(m))))),
       varcorr = vc_frame(m), loglik = as.numeric(logLik(m)))
})
fx <- list(data = "orthodont", REML = TRUE, versions = versions, fits = out)
target <- file.path(fixture_dir, "lmer_formulas.json")
writeLines(toJSON(fx, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), target)
cat("wrote", target, "\n")
