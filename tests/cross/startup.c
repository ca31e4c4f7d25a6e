/*
 * Minimal startup for the C unit tests on QEMU's mps2 machines: a vector
 * table, a reset handler that zeroes .bss, turns the FPU on (hard-float
 * builds), opens newlib's semihosting handles and exits with main's
 * status, and fault handlers that report a failure instead of hanging.
 *
 * Output and the exit status go through semihosting (newlib's librdimon):
 * run QEMU with `-semihosting-config enable=on,target=native`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

extern int main(void);
extern void initialise_monitor_handles(void);
extern uint32_t __bss_start__[], __bss_end__[], __stack_top[];

void Reset_Handler(void);
void Fault_Handler(void);
void _init(void);
void _fini(void);

/* With -nostartfiles there is no crti.o: newlib's init/fini array walkers
 * still call these. Nothing here needs them. */
void _init(void) {}
void _fini(void) {}

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11, or the first FP instruction
     * faults. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    for (uint32_t *p = __bss_start__; p < __bss_end__; p++) {
        *p = 0;
    }
    initialise_monitor_handles();
    exit(main());
}

/* Any fault ends the run with a distinct status, so that a crash is a
 * failure and never a hang or a pass. */
__attribute__((noreturn)) void Fault_Handler(void)
{
    static const char msg[] = "\n*** fault: the test program crashed ***\n";
    (void)write(2, msg, sizeof msg - 1);
    _exit(125);
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, /* initial main stack pointer */
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};
