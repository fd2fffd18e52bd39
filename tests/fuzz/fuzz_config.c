/* libFuzzer target: config.json bytes -> the JSON tree -> the config model
 * -> validation.  Any input must give a model or an error, never a crash,
 * a leak or a second error set on the same olrun_error_t. */
#include <stddef.h>
#include <stdint.h>

#include "olrun/spec.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  olrun_json_doc_t *doc = NULL;
  olrun_error_t err = NULL;
  if (olrun_json_parse ((const char *) data, size, "fuzz.json", &doc, &err) < 0)
    {
      olrun_error_release (&err);
      return 0;
    }
  struct olrun_spec *spec = NULL;
  if (olrun_spec_from_doc (doc, &spec, &err) < 0)
    {
      olrun_error_release (&err);
      return 0;
    }
  if (olrun_spec_validate (spec, &err) < 0)
    olrun_error_release (&err);
  olrun_spec_free (spec);
  return 0;
}
