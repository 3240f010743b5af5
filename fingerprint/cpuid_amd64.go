package fingerprint

import "fmt"

// cpuid executes the CPUID instruction (cpuid_amd64.s).
func cpuid(leaf uint32) (eax, ebx, ecx, edx uint32)

const cpuIDSource = "CPUID leaf 1 (EDX, EAX)"

// cpuID returns CPUID leaf 1 as 16 hex digits, EDX then EAX: the form Windows
// reports as Win32_Processor.ProcessorId. EBX (which holds the APIC id of the
// core that ran the instruction) is left out, so every core gives the same id.
func cpuID() (string, error) {
	eax, _, _, edx := cpuid(1)
	return fmt.Sprintf("%08X%08X", edx, eax), nil
}
