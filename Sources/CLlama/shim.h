#ifndef WORKERBEE_CLLAMA_SHIM_H
#define WORKERBEE_CLLAMA_SHIM_H

#include <llama.h>
#include <mtmd.h>
#include <mtmd-helper.h>

#endif
