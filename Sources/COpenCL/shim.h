// OpenCL 1.2 API surface only: clCreateCommandQueue works on every 1.2+ device, and the
// 2.0 queue-properties entry point is missing from 1.2 drivers.
#ifndef CONVKIT_COPENCL_SHIM_H
#define CONVKIT_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#if defined(__APPLE__)
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#include <CL/cl_ext.h>
#endif
#endif
